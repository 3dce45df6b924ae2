import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Row, SinkDefinition, SinkResult, SourceDefinition } from '@sluice/core';
import { decompress as fzstd } from 'fzstd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvSink } from '../src/csv/sink.ts';
import { csvSource } from '../src/csv/source.ts';
import { jsonSink } from '../src/json/sink.ts';
import { jsonSource } from '../src/json/source.ts';
import { ndjsonSink } from '../src/ndjson/sink.ts';
import { ndjsonSource } from '../src/ndjson/source.ts';
import { MAGIC } from '../src/shared/compression.ts';
import { sinkConformance } from './conformance.ts';
import { unreachableS3 } from './conformance-checks.ts';
import { openSink, readSource } from './harness.ts';
import { S3RVER_KEYS, type S3Server, startS3 } from './s3-server.ts';

// gzip and zstd files, written by the text sinks and read by the text sources, on local disk and
// on S3. What the sinks write is decoded here by other readers than the sources' own (zlib's
// gunzipSync, fzstd's one-shot decoder, and the gzip and zstd commands when installed).
let dir: string;
let s3: S3Server;
const previousStaging = process.env.SLUICE_STAGING_DIR;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-compressed-'));
  s3 = await startS3();
  await s3.bucket('etl');
  process.env.SLUICE_STAGING_DIR = join(dir, 'staging');
});
afterAll(async () => {
  if (previousStaging === undefined) delete process.env.SLUICE_STAGING_DIR;
  else process.env.SLUICE_STAGING_DIR = previousStaging;
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});
let files = 0;
const fresh = (name: string) => join(dir, `run${files++}`, name);
const s3opts = () => ({ endpoint: s3.endpoint, ...S3RVER_KEYS, region: 'us-east-1' });

/** The text of a compressed file, by an independent decoder; a missing file reads as empty. */
async function unpacked(path: string): Promise<string> {
  if (!existsSync(path)) return '';
  const data = await readFile(path);
  if (path.endsWith('.gz')) return gunzipSync(data).toString();
  return Buffer.from(fzstd(data)).toString();
}

// No file (a sink cancelled before its first checkpoint) reads as no rows.
const jsonRows = (text: string) => (text === '' ? [] : (JSON.parse(text) as Row[]));

const sample: Row[] = [
  { id: 1, name: 'Ana', note: 'a, "quoted" note' },
  { id: 2, name: 'Bruno', note: 'two\nlines' },
  { id: 3, name: 'Cé 🚚', note: '' },
  { id: 4, name: 'Dora', note: 'tab\there' },
  { id: 5, name: 'Eli', note: 'x' },
];
const lines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Row);

sinkConformance('ndjson.zst', {
  def: ndjsonSink,
  setup: async () => ({ path: fresh('out.ndjson.zst') }),
  readBack: async (c) => lines(await unpacked(c.path as string)),
  badConfig: { path: 'x.ndjson.zst', compression: 'gzip' },
  badPath: 'with.compression',
  resumable: true,
  secret: unreachableS3('out.ndjson.zst'),
  sample,
});

sinkConformance('json.gz', {
  def: jsonSink,
  setup: async () => ({ path: fresh('out.json.gz') }),
  readBack: async (c) => jsonRows(await unpacked(c.path as string)),
  badConfig: { path: 'x.json.gz', compression: 'none' },
  badPath: 'with.compression',
  resumable: true,
  secret: unreachableS3('out.json.gz'),
  sample,
});

sinkConformance('json.zst', {
  def: jsonSink,
  setup: async () => ({ path: fresh('out.json.zst') }),
  readBack: async (c) => jsonRows(await unpacked(c.path as string)),
  badConfig: { path: 'x.json', compression: 'lz4' },
  badPath: 'with.compression',
  resumable: true,
  secret: unreachableS3('out.json.zst'),
  sample,
});

sinkConformance('csv.gz', {
  def: csvSink,
  setup: async () => ({ path: fresh('out.csv.gz'), columns: ['id', 'name', 'note'] }),
  // The csv source reads it back: its own reading is tested below and in csv/source.test.ts.
  readBack: async (c) => {
    if (!existsSync(c.path as string)) return [];
    const r = await readSource(csvSource, { path: c.path, schema: { id: 'integer' } });
    return r.rows.map(plain);
  },
  badConfig: { path: 'x.csv.zst', compression: 'gzip' },
  badPath: 'with.compression',
  resumable: true,
  secret: unreachableS3('out.csv.gz', { columns: ['id', 'name', 'note'] }),
  sample,
});

// Rows as plain objects, without the source line the sources attach under a symbol.
const plain = (r: Row): Row => Object.fromEntries(Object.entries(r));

type Format = { sink: SinkDefinition; source: SourceDefinition; ext: string; read: (r: Row[]) => Row[] };
const formats: Format[] = [
  {
    sink: csvSink,
    source: csvSource,
    ext: 'csv',
    read: (rows) => rows.map((r) => ({ ...plain(r), id: Number(r.id) })),
  },
  { sink: ndjsonSink, source: ndjsonSource, ext: 'ndjson', read: (rows) => rows.map(plain) },
  { sink: jsonSink, source: jsonSource, ext: 'json', read: (rows) => rows.map(plain) },
];

async function write(f: Format, config: Record<string, unknown>, batches: Row[][]): Promise<SinkResult> {
  const { writer } = await openSink(f.sink, { verify: 'content', ...config }, { baseDir: dir });
  await writer.start(undefined);
  let seq = 0;
  // A checkpoint after every batch: each ends a gzip member or zstd frame.
  for (const rows of batches) {
    await writer.write(rows);
    await writer.commit({ seq: ++seq, position: seq });
  }
  return writer.close();
}

describe.each(formats)('$ext', (f) => {
  for (const codec of ['gz', 'zst'] as const) {
    it(`round-trips .${codec} with the same counts and checksum as plain text, and resumes inside it`, async () => {
      const path = fresh(`rows.${f.ext}.${codec}`);
      const packed = await write(f, { path }, [sample.slice(0, 2), sample.slice(2, 3), sample.slice(3)]);
      const plain = await write(f, { path: fresh(`rows.${f.ext}`) }, [sample]);
      expect(packed.verification).toEqual(plain.verification);
      expect(packed.verification?.rowsFound).toBe(sample.length);
      // Three members or frames: one per checkpoint, and one for the json sink's `]`.
      const bytes = await readFile(path);
      expect(count(bytes, MAGIC[codec === 'gz' ? 'gzip' : 'zstd'])).toBe(f.ext === 'json' ? 4 : 3);

      const all = await readSource(f.source, { path, batchSize: 2 });
      expect(f.read(all.rows)).toEqual(sample);
      const rest = await readSource(f.source, { path, batchSize: 2 }, { resumeFrom: all.positions[0] });
      expect(f.read(rest.rows)).toEqual(sample.slice(2));
    });

    it(`writes .${codec} to S3 and reads it back from there`, async () => {
      const url = `s3://etl/${f.ext}/${files++}/rows.${f.ext}.${codec}`;
      const s3cfg = { s3: s3opts() };
      await write(f, { path: url, ...s3cfg }, [sample.slice(0, 3), sample.slice(3)]);
      const r = await readSource(f.source, { path: url, ...s3cfg }, { baseDir: dir });
      expect(f.read(r.rows)).toEqual(sample);
    });
  }
});

function count(data: Buffer, magic: Buffer): number {
  let n = 0;
  for (let at = data.indexOf(magic); at !== -1; at = data.indexOf(magic, at + 1)) n++;
  return n;
}

describe('compressed input that is damaged', () => {
  for (const codec of ['gz', 'zst'] as const) {
    it(`fails a cut-short .${codec} with the file named and what to do`, async () => {
      const path = fresh(`whole.ndjson.${codec}`);
      await write(formats[1]!, { path }, [sample]);
      const data = await readFile(path);
      const cut = fresh(`cut.ndjson.${codec}`);
      await mkdir(dirname(cut), { recursive: true });
      await writeFile(cut, data.subarray(0, data.length - 6));
      const err = await readSource(ndjsonSource, { path: cut }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toContain(cut);
      expect(err?.message).toMatch(/data ends too soon .*cut short; fetch or write it again/);
    });

    it(`fails a plain file named .${codec}, saying how to read it`, async () => {
      const path = fresh(`plain.csv.${codec}`);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, 'id,name\n1,Ana\n2,Bruno\n3,Cé\n4,Dora\n');
      const err = await readSource(csvSource, { path }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(
        /not a (gzip|zstd) file .*remove the \.(gz|zst) suffix or set compression: none/,
      );
      const told = await readSource(csvSource, { path, compression: 'none' });
      expect(told.rows).toHaveLength(4);
    });
  }
});

const hasTool = (name: string) => existsSync(`/usr/bin/${name}`);
describe('files any gzip or zstd reader reads whole', () => {
  for (const [tool, codec] of [
    ['gzip', 'gz'],
    ['zstd', 'zst'],
  ] as const) {
    it.skipIf(!hasTool(tool))(`${tool} -dc reads a resumed, many-member .${codec} file`, async () => {
      const path = fresh(`tool.ndjson.${codec}`);
      const key = `tool/${codec}`;
      const a = await openSink(ndjsonSink, { path }, { key });
      await a.writer.start(undefined);
      await a.writer.write(sample.slice(0, 2));
      const state = await a.writer.commit({ seq: 1, position: 2 });
      await a.writer.write(sample.slice(2, 4)); // lost in the crash, after its member was written
      await a.writer.commit({ seq: 2, position: 4 });
      await a.writer.abort(new Error('crash'));
      const b = await openSink(ndjsonSink, { path }, { key });
      await b.writer.start(state ?? undefined);
      await b.writer.write(sample.slice(2));
      await b.writer.close();
      const text = execFileSync(`/usr/bin/${tool}`, ['-dc', path]).toString();
      expect(lines(text)).toEqual(sample);
    });

    it.skipIf(!hasTool(tool))(`reads what ${tool} wrote, two streams concatenated`, async () => {
      const text = sample.map((r) => JSON.stringify(r)).join('\n');
      const half = `${text.slice(0, text.indexOf('\n', 50))}\n`;
      const packed = [half, text.slice(half.length)].map((t) =>
        execFileSync(`/usr/bin/${tool}`, ['-c'], { input: t }),
      );
      const path = fresh(`by-${tool}.ndjson.${codec}`);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, Buffer.concat(packed));
      expect((await readSource(ndjsonSource, { path })).rows.map(plain)).toEqual(sample);
    });
  }
});
