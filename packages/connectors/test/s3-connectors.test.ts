import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ErrorCode, type Row, type SluiceError } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvSource } from '../src/csv/source.ts';
import { openLocation } from '../src/location/index.ts';
import type { S3Options } from '../src/location/options.ts';
import type { Location } from '../src/location/types.ts';
import { ndjsonSink } from '../src/ndjson/sink.ts';
import { openSink, readSource } from './harness.ts';
import { S3RVER_KEYS, type S3Server, startS3 } from './s3-server.ts';

// The file connectors against a real S3 API (s3rver, in-process): reading, globbing, resuming,
// and publishing a sink's output only when the step succeeds.
let s3: S3Server;
let dir: string;
let s3opts: S3Options;
const signal = new AbortController().signal;
const previousStaging = process.env.SLUICE_STAGING_DIR;

beforeAll(async () => {
  s3 = await startS3();
  await s3.bucket('etl');
  dir = await mkdtemp(join(tmpdir(), 'sluice-s3e2e-'));
  // Staged outputs in this test's own directory, removed with it.
  process.env.SLUICE_STAGING_DIR = join(dir, 'staging');
  s3opts = { endpoint: s3.endpoint, ...S3RVER_KEYS, region: 'us-east-1' };
});
afterAll(async () => {
  if (previousStaging === undefined) delete process.env.SLUICE_STAGING_DIR;
  else process.env.SLUICE_STAGING_DIR = previousStaging;
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

async function bucket<T>(f: (l: Location) => Promise<T>): Promise<T> {
  const l = await openLocation('s3://etl/', { s3: s3opts }, { baseDir: dir, stepId: 'setup' }, 'setup');
  try {
    return await f(l);
  } finally {
    await l.close();
  }
}

let uploads = 0;
async function upload(url: string, content: string | Buffer): Promise<void> {
  const from = join(dir, `upload${uploads++}`);
  await writeFile(from, content);
  await bucket((l) => l.put(url, from, signal));
}

async function download(url: string): Promise<string | undefined> {
  return bucket(async (l) => {
    try {
      await l.stat(url, signal);
    } catch (err) {
      if ((err as SluiceError).code === ErrorCode.NOT_FOUND) return undefined;
      throw err;
    }
    const parts: Buffer[] = [];
    for await (const c of l.read(url, { signal })) parts.push(c);
    return Buffer.concat(parts).toString();
  });
}

const plain = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r)));
const csv = (from: number, to: number) =>
  `id,name\n${Array.from({ length: to - from }, (_, i) => `${from + i},n${from + i}`).join('\n')}\n`;

describe('file connectors on S3', () => {
  it('reads a csv object', async () => {
    await upload('s3://etl/in.csv', csv(1, 4));
    const r = await readSource(csvSource, { path: 's3://etl/in.csv', s3: s3opts }, { baseDir: dir });
    expect(plain(r.rows)).toEqual([
      { id: '1', name: 'n1' },
      { id: '2', name: 'n2' },
      { id: '3', name: 'n3' },
    ]);
  });

  it('reads every object a glob matches, in key order, naming each in fileField', async () => {
    await upload('s3://etl/in/2026-02/b.csv', csv(3, 4));
    await upload('s3://etl/in/2026-01/a.csv', csv(1, 3));
    await upload('s3://etl/in/2025-12/old.csv', csv(0, 1));
    await upload('s3://etl/in/2026-01/notes.txt', 'not csv');
    const r = await readSource(
      csvSource,
      { path: 's3://etl/in/2026-*/*.csv', fileField: 'file', s3: s3opts },
      { baseDir: dir },
    );
    expect(plain(r.rows)).toEqual([
      { id: '1', name: 'n1', file: 's3://etl/in/2026-01/a.csv' },
      { id: '2', name: 'n2', file: 's3://etl/in/2026-01/a.csv' },
      { id: '3', name: 'n3', file: 's3://etl/in/2026-02/b.csv' },
    ]);
  });

  it('reads a gzip csv object', async () => {
    await upload('s3://etl/zipped.csv.gz', gzipSync(csv(1, 3)));
    const r = await readSource(csvSource, { path: 's3://etl/zipped.csv.gz', s3: s3opts }, { baseDir: dir });
    expect(plain(r.rows)).toEqual([
      { id: '1', name: 'n1' },
      { id: '2', name: 'n2' },
    ]);
  });

  it('resumes from a position mid-object with exactly the remaining rows', async () => {
    await upload('s3://etl/resume.csv', csv(1, 101));
    const config = { path: 's3://etl/resume.csv', batchSize: 10, chunkSize: 64, s3: s3opts };
    const first = await readSource(csvSource, config, { baseDir: dir, maxBatches: 3 });
    expect(first.rows).toHaveLength(30);
    const rest = await readSource(csvSource, config, { baseDir: dir, resumeFrom: first.positions.at(-1) });
    expect(rest.rows.map((r) => r.id)).toEqual(Array.from({ length: 70 }, (_, i) => String(31 + i)));
  });

  it('says which object is missing', async () => {
    const err = await readSource(csvSource, { path: 's3://etl/nope.csv', s3: s3opts }, { baseDir: dir }).then(
      () => expect.unreachable(),
      (e: SluiceError) => e,
    );
    expect(err.code).toBe(ErrorCode.NOT_FOUND);
    expect(err.message).toContain('object not found: s3://etl/nope.csv');
  });

  it('publishes an ndjson sink output only at close', async () => {
    const url = 's3://etl/out/rows.ndjson';
    const { writer } = await openSink(ndjsonSink, { path: url, s3: s3opts }, { baseDir: dir });
    await writer.start(undefined);
    await writer.write([{ id: 1, name: 'Ana' }]);
    await writer.commit({ seq: 1, position: 1 });
    await writer.write([{ id: 2, name: 'Bruno' }]);
    expect(await download(url)).toBeUndefined();
    await writer.close();
    expect(await download(url)).toBe('{"id":1,"name":"Ana"}\n{"id":2,"name":"Bruno"}\n');
  });

  it('leaves nothing on S3 when the sink is aborted', async () => {
    const url = 's3://etl/out/aborted.ndjson';
    const { writer } = await openSink(ndjsonSink, { path: url, s3: s3opts }, { baseDir: dir });
    await writer.start(undefined);
    await writer.write([{ id: 1 }]);
    await writer.abort(new Error('crash'));
    expect(await download(url)).toBeUndefined();
  });

  it('with overwrite false refuses an existing object and leaves it alone', async () => {
    const url = 's3://etl/out/kept.ndjson';
    await upload(url, '{"kept":true}\n');
    const { writer } = await openSink(
      ndjsonSink,
      { path: url, overwrite: false, s3: s3opts },
      { baseDir: dir },
    );
    await expect(writer.start(undefined)).rejects.toThrow(/already exists and config\.overwrite is false/);
    expect(await download(url)).toBe('{"kept":true}\n');
  });

  it('never shows the secret key when the credentials are refused', async () => {
    const secret = 'wJalrXUtnFEMI-K7MDENG-secret-under-test';
    const bad = { ...s3opts, accessKeyId: 'AKIAWRONG', secretAccessKey: secret };
    const read = await readSource(csvSource, { path: 's3://etl/in.csv', s3: bad }, { baseDir: dir }).then(
      () => expect.unreachable(),
      (e: SluiceError) => e,
    );
    expect(read.code).toBe(ErrorCode.CONFIG);
    expect(read.message).toContain('access denied to s3://etl/in.csv');
    expect(read.message).toContain('AKIAWRONG');
    const { writer, harness } = await openSink(
      ndjsonSink,
      { path: 's3://etl/out/denied.ndjson', s3: bad },
      { baseDir: dir },
    );
    const write = await (async () => {
      await writer.start(undefined);
      await writer.write([{ id: 1 }]);
      await writer.close();
    })().then(
      () => expect.unreachable(),
      (e: SluiceError) => e,
    );
    expect(write.code).toBe(ErrorCode.CONFIG);
    for (const text of [read.message, read.stack, write.message, write.stack, ...harness.logs]) {
      expect(text).not.toContain(secret);
    }
    await writer.abort(write);
  });
});
