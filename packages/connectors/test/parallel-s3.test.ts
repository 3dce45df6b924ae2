import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocation } from '../src/location/index.ts';
import type { S3Options } from '../src/location/options.ts';
import type { Location } from '../src/location/types.ts';
import { inParts } from '../src/shared/remote-bytes.ts';
import { awkwardCsv, byLine, figures, perComponent, run, tinyChunks } from './parallel-harness.ts';
import { S3RVER_KEYS, type S3Server, startS3 } from './s3-server.ts';

// One CSV object in S3 read on the parallel path (its bytes streamed to the main thread, cut and
// parsed in threads) must give what the serial read of the same object gives, and what the same
// file on local disk gives: outputs, counts, checksums, quarantine lines, resume.
let s3: S3Server;
let dir: string;
let s3opts: S3Options;
const signal = new AbortController().signal;
const text = awkwardCsv(1500);

async function bucket<T>(f: (l: Location) => Promise<T>): Promise<T> {
  const l = await openLocation('s3://par/', { s3: s3opts }, { baseDir: dir, stepId: 'setup' }, 'setup');
  try {
    return await f(l);
  } finally {
    await l.close();
  }
}

beforeAll(async () => {
  s3 = await startS3();
  await s3.bucket('par');
  dir = await mkdtemp(join(tmpdir(), 'sluice-parallel-s3-'));
  s3opts = { endpoint: s3.endpoint, ...S3RVER_KEYS, region: 'us-east-1' };
  await writeFile(join(dir, 'in.csv'), text);
  await bucket((l) => l.put('s3://par/in.csv', join(dir, 'in.csv'), signal));
});
afterAll(async () => {
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
const sub = (name: string) => join(dir, `${n++}-${name}`);

const flow = (input: string, out: string) => ({
  name: 'par-s3',
  checkpointEvery: 150,
  flow: [
    {
      source: 'csv',
      with: {
        path: input,
        ...(input.startsWith('s3://') ? { s3: s3opts } : {}),
        schema: { id: 'integer', amount: 'number', active: 'boolean' },
      },
    },
    { transform: 'filter', with: { where: 'active == true || amount > 50.0' } },
    { sink: 'ndjson', with: { path: `${out}.ndjson`, verify: 'content' } },
    { sink: 'csv', with: { path: `${out}.csv`, verify: 'content' } },
  ],
});

const gets = (): number => s3.requests.filter((r) => r.startsWith('GET /par/in.csv')).length;
/** GETs of a byte range: the serial path reads an object whole, the parallel path in ranged parts. */
const ranged = (key: string): number =>
  s3.requests.filter((r) => r.startsWith(`GET /par/${key}`) && r.includes(' Range: ')).length;

describe('a CSV object in S3 on the parallel path', { timeout: 60_000 }, () => {
  it('gives the serial read’s and the local file’s outputs, figures and quarantine', async () => {
    const serial = sub('serial');
    const local = sub('local');
    const threads = sub('threads');
    const a = await run(flow('s3://par/in.csv', serial), `${serial}-state`, false);
    const l = await run(flow(join(dir, 'in.csv'), local), `${local}-state`, tinyChunks(700));
    const before = ranged('in.csv');
    const b = await run(flow('s3://par/in.csv', threads), `${threads}-state`, tinyChunks(700));
    expect(a.report.status, JSON.stringify(a.report.error)).toBe('success');
    expect(b.report.status, JSON.stringify(b.report.error)).toBe('success');
    // The serial runs read the object whole; the parallel one read the rest after the header in a part.
    expect(before).toBe(0);
    expect(ranged('in.csv')).toBe(1);
    expect(figures(b.report)).toEqual(figures(a.report));
    expect(figures(l.report)).toEqual(figures(a.report));
    for (const ext of ['ndjson', 'csv']) {
      const want = await readFile(`${serial}.${ext}`);
      expect((await readFile(`${threads}.${ext}`)).equals(want), `${ext} differs`).toBe(true);
      expect((await readFile(`${local}.${ext}`)).equals(want), `${ext} differs`).toBe(true);
    }
    expect(a.report.steps[0]!.rowsQuarantined).toBeGreaterThan(10);
    expect(byLine(b.quarantine)).toEqual(byLine(a.quarantine));
    expect(perComponent(b.quarantine)).toEqual(perComponent(a.quarantine));
  });

  it('is cancelled and resumes from its checkpoint to the same output', async () => {
    const whole = sub('whole');
    await run(flow('s3://par/in.csv', whole), `${whole}-state`, false);
    const b = sub('resumed');
    const abort = new AbortController();
    const cancelled = await run(flow('s3://par/in.csv', b), `${b}-state`, tinyChunks(500), {
      signal: abort.signal,
      onEvent: (e) => {
        if (e.type === 'progress' && e.rowsRead > 600) abort.abort();
      },
    });
    expect(cancelled.report.status).toBe('cancelled');
    expect(existsSync(`${b}.ndjson`)).toBe(false);
    const resumed = await run(flow('s3://par/in.csv', b), `${b}-state`, tinyChunks(700), { resume: true });
    expect(resumed.report.status, JSON.stringify(resumed.report.error)).toBe('success');
    expect(resumed.report.steps[0]!.resumedFromRow).toBeGreaterThan(0);
    for (const ext of ['ndjson', 'csv']) {
      expect((await readFile(`${b}.${ext}`)).equals(await readFile(`${whole}.${ext}`)), ext).toBe(true);
    }
  });
});

describe('an NDJSON object in S3 on the parallel path', { timeout: 60_000 }, () => {
  it('gives the serial read’s output, figures and quarantine', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) =>
      i % 97 === 0 ? `{"id": ${i}, bad` : JSON.stringify({ id: i, name: `n é ${i}`, active: i % 2 === 0 }),
    );
    await writeFile(join(dir, 'in.ndjson'), `${lines.join('\n')}\n`);
    await bucket((l) => l.put('s3://par/in.ndjson', join(dir, 'in.ndjson'), signal));
    const spec = (out: string) => ({
      name: 'par-s3-ndjson',
      checkpointEvery: 150,
      flow: [
        { source: 'ndjson', with: { path: 's3://par/in.ndjson', s3: s3opts } },
        { transform: 'filter', with: { where: 'active == true' } },
        { sink: 'ndjson', with: { path: `${out}.ndjson`, verify: 'content' } },
      ],
    });
    const serial = sub('nd-serial');
    const threads = sub('nd-threads');
    const a = await run(spec(serial), `${serial}-state`, false);
    expect(ranged('in.ndjson')).toBe(0);
    const b = await run(spec(threads), `${threads}-state`, tinyChunks(900));
    expect(a.report.status, JSON.stringify(a.report.error)).toBe('success');
    expect(ranged('in.ndjson')).toBe(1);
    expect(figures(b.report)).toEqual(figures(a.report));
    expect((await readFile(`${threads}.ndjson`)).equals(await readFile(`${serial}.ndjson`))).toBe(true);
    expect(a.report.steps[0]!.rowsQuarantined).toBe(21);
    expect(byLine(b.quarantine)).toEqual(byLine(a.quarantine));
  });
});

describe('an S3 object read in ranged parts', () => {
  it('yields its bytes in order from any offset, several parts in flight', async () => {
    const want = Buffer.from(text);
    for (const [start, bytes, ahead] of [
      [0, 1000, 3],
      [12_345, 777, 4],
      [want.length - 10, 4096, 2],
    ] as const) {
      const before = gets();
      const got = await bucket(async (l) => {
        const out: Buffer[] = [];
        for await (const b of inParts(l, 's3://par/in.csv', start, want.length, signal, { bytes, ahead }))
          out.push(b);
        return Buffer.concat(out);
      });
      expect(got.equals(want.subarray(start)), `from ${start} in parts of ${bytes}`).toBe(true);
      expect(gets() - before).toBe(Math.ceil((want.length - start) / bytes));
    }
  });

  it('stops the parts in flight when the reader stops early', async () => {
    await bucket(async (l) => {
      const it = inParts(l, 's3://par/in.csv', 0, text.length, signal, { bytes: 100, ahead: 4 });
      const first = await it.next();
      expect(first.done).toBe(false);
      await it.return(undefined);
      // Nothing runs on after return: a second read of the same location still works.
      expect((await l.stat('s3://par/in.csv', signal)).size).toBe(Buffer.byteLength(text));
    });
  });
});
