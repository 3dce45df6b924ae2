import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Json, type Row, SOURCE_LINE, type SourceBatch, type SourceDefinition } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceConformance } from '../../test/conformance.ts';
import { unreachableS3 } from '../../test/conformance-checks.ts';
import { readSource, sourceContext } from '../../test/harness.ts';
import { ndjsonSource } from '../ndjson/source.ts';
import { compressFrame } from '../shared/compression.ts';
import { jsonSource } from './source.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-jsrc-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
let files = 0;
async function file(content: string | Buffer, ext: string): Promise<string> {
  const path = join(dir, `f${files++}.${ext}`);
  await writeFile(path, content);
  return path;
}

// Entries only: the SOURCE_LINE symbol is checked on its own.
const plain = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r)));
const lines = (rows: Row[]) => rows.map((r) => r[SOURCE_LINE]);

const sample: Row[] = [
  { id: 1, name: 'Ana', tags: ['a', 'b'] },
  { id: 2, name: 'Bruno "B"', nested: { x: null } },
  { id: 3, name: 'Cé 🚚\n', ok: true },
  { id: 4, name: 'back\\slash ]}', n: -1.5e3 },
  { id: 5, name: '' },
];

sourceConformance('ndjson', {
  def: ndjsonSource,
  resumable: true,
  badConfig: { path: 'x.ndjson', batchSize: 0 },
  badPath: 'with.batchSize',
  secret: unreachableS3('in.ndjson'),
  sample,
  setup: async (rows) => ({ path: await file(rows.map((r) => `${JSON.stringify(r)}\n`).join(''), 'ndjson') }),
});

sourceConformance('json', {
  def: jsonSource,
  resumable: true,
  badConfig: { path: 'x.json', compression: 'zip' },
  badPath: 'with.compression',
  secret: unreachableS3('in.json'),
  sample,
  setup: async (rows) => ({ path: await file(JSON.stringify(rows, null, 2), 'json') }),
});

/** Reads the file once, then resumes from every batch's position: exactly the rows after it follow. */
async function resumesEverywhere(def: SourceDefinition, config: Record<string, unknown>): Promise<void> {
  const { ctx } = sourceContext(def, config);
  const batches: SourceBatch[] = [];
  for await (const b of def.read(ctx)) batches.push(b);
  const all = batches.flatMap((b) => b.rows);
  let before = 0;
  for (const b of batches) {
    before += b.rows.length;
    expect(b.position).toBeDefined();
    const rest = await readSource(def, config, { resumeFrom: b.position as Json });
    expect(plain(rest.rows)).toEqual(plain(all.slice(before)));
    expect(lines(rest.rows)).toEqual(lines(all.slice(before)));
  }
}

describe('ndjson source', () => {
  const text = '\uFEFF{"a":1}\n\n{"a":"é🚚"}\r\n[1]\nnot json\n  \n{"b":2}\n"s"\n{"c":3}';

  it('reads objects with their line numbers, skips blank lines and quarantines the rest', async () => {
    const path = await file(text, 'ndjson');
    const r = await readSource(ndjsonSource, { path });
    expect(plain(r.rows)).toEqual([{ a: 1 }, { a: 'é🚚' }, { b: 2 }, { c: 3 }]);
    expect(lines(r.rows)).toEqual([1, 3, 7, 9]);
    expect(r.harness.origin).toBe(path);
    expect(r.harness.quarantined).toEqual([
      { reason: 'line 4 holds an array, not a JSON object', line: 4, offset: 28, raw: '[1]' },
      expect.objectContaining({ line: 5, offset: 32, raw: 'not json' }),
      { reason: 'line 8 holds a string, not a JSON object', line: 8, offset: 52, raw: '"s"' },
    ]);
    expect(r.harness.quarantined[1]!.reason).toMatch(/^line 5 is not valid JSON/);
  });

  it('reads .gz files and resumes inside them', async () => {
    const path = await file(gzipSync(text), 'ndjson.gz');
    const r = await readSource(ndjsonSource, { path, batchSize: 1 });
    expect(plain(r.rows)).toEqual([{ a: 1 }, { a: 'é🚚' }, { b: 2 }, { c: 3 }]);
    await resumesEverywhere(ndjsonSource, { path, batchSize: 1 });
  });

  it('reads .zst files in several frames with the line numbers and offsets of the text, and resumes inside them', async () => {
    const cut = text.indexOf('not json');
    const frames = [text.slice(0, cut), text.slice(cut)].map((t) => compressFrame('zstd', Buffer.from(t)));
    const path = await file(Buffer.concat(await Promise.all(frames)), 'ndjson.zst');
    const r = await readSource(ndjsonSource, { path, batchSize: 1 });
    const asText = await readSource(ndjsonSource, { path: await file(text, 'ndjson') });
    expect(plain(r.rows)).toEqual(plain(asText.rows));
    expect(lines(r.rows)).toEqual([1, 3, 7, 9]);
    expect(r.harness.quarantined).toEqual(asText.harness.quarantined);
    await resumesEverywhere(ndjsonSource, { path, batchSize: 1 });
  });

  it('resumes from every batch position, with chunks cutting lines and characters', async () => {
    const rows = Array.from({ length: 60 }, (_, i) => ({ i, s: `é🚚${'x'.repeat(i % 13)}` }));
    const body = rows.map((r, i) =>
      i % 7 === 3 ? `${JSON.stringify(r)}\n\nbad\n` : `${JSON.stringify(r)}\n`,
    );
    const path = await file(body.join(''), 'ndjson');
    const config = { path, batchSize: 7, chunkSize: 64 };
    const r = await readSource(ndjsonSource, config);
    expect(plain(r.rows)).toEqual(rows);
    expect(r.harness.quarantined).toHaveLength(9);
    await resumesEverywhere(ndjsonSource, config);
  });

  it('quarantines a line that is not valid UTF-8 and reads the others', async () => {
    const bad = Buffer.concat([
      Buffer.from('{"a":1}\n{"a":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}\n{"a":3}\n'),
    ]);
    const r = await readSource(ndjsonSource, { path: await file(bad, 'ndjson') });
    expect(plain(r.rows)).toEqual([{ a: 1 }, { a: 3 }]);
    expect(lines(r.rows)).toEqual([1, 3]);
    expect(r.harness.quarantined).toEqual([
      expect.objectContaining({ line: 2, offset: 8, reason: 'line 2 is not valid UTF-8' }),
    ]);
  });

  it('reports progress in bytes and the offset after the last line', async () => {
    const path = await file('{"a":1}\n{"a":2}\n', 'ndjson');
    const r = await readSource(ndjsonSource, { path, batchSize: 1 });
    expect(r.positions).toEqual([
      { offset: 8, line: 2 },
      { offset: 16, line: 3 },
    ]);
  });

  it('refuses a position it did not write', async () => {
    const path = await file('{"a":1}\n', 'ndjson');
    await expect(readSource(ndjsonSource, { path }, { resumeFrom: { offset: -1 } })).rejects.toThrow(
      /cannot resume.*without resuming/,
    );
  });

  it('names a missing file', async () => {
    await expect(readSource(ndjsonSource, { path: join(dir, 'nope.ndjson') })).rejects.toThrow(
      /file not found/,
    );
  });
});

describe('json source', () => {
  const text =
    '\uFEFF[\n{"a":"x\\"]}\\\\"},\n 1, {"b":[1,{"c":2}]} ,\n"s", {"d":"é🚚"}, {bad}, null, [1,2]\n]\n';

  it('reads each object of the array and quarantines other elements with index and line', async () => {
    const r = await readSource(jsonSource, { path: await file(text, 'json') });
    expect(plain(r.rows)).toEqual([{ a: 'x"]}\\' }, { b: [1, { c: 2 }] }, { d: 'é🚚' }]);
    expect(lines(r.rows)).toEqual([2, 3, 4]);
    expect(r.harness.quarantined.map((q) => [q.reason.split(' is ')[0], q.line, q.raw])).toEqual([
      ['element 1 (line 3)', 3, '1'],
      ['element 3 (line 4)', 4, '"s"'],
      ['element 5 (line 4)', 4, '{bad}'],
      ['element 6 (line 4)', 4, 'null'],
      ['element 7 (line 4)', 4, '[1,2]'],
    ]);
    expect(r.harness.quarantined[0]!.reason).toBe('element 1 (line 3) is a number, not an object');
  });

  it('finds the same elements whatever the chunk boundaries, and resumes from every position', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({
      i,
      s: `"q" \\ é🚚 ]}${'x'.repeat(i % 11)}`,
      n: [i, { i }],
    }));
    for (const indent of [0, 2]) {
      const path = await file(JSON.stringify(rows, null, indent), 'json');
      for (const chunkSize of [64, 100, 1 << 20]) {
        const r = await readSource(jsonSource, { path, chunkSize });
        expect(plain(r.rows)).toEqual(rows);
      }
      await resumesEverywhere(jsonSource, { path, batchSize: 6, chunkSize: 64 });
    }
  });

  it('reads .gz files and resumes inside them', async () => {
    const path = await file(gzipSync(JSON.stringify(sample)), 'json.gz');
    const r = await readSource(jsonSource, { path, batchSize: 2 });
    expect(plain(r.rows)).toEqual(sample);
    await resumesEverywhere(jsonSource, { path, batchSize: 2 });
  });

  it('reads .zst files and resumes inside them', async () => {
    const path = await file(await compressFrame('zstd', Buffer.from(JSON.stringify(sample))), 'json.zst');
    const r = await readSource(jsonSource, { path, batchSize: 2 });
    expect(plain(r.rows)).toEqual(sample);
    await resumesEverywhere(jsonSource, { path, batchSize: 2 });
  });

  it('reads an empty array as no rows', async () => {
    for (const t of ['[]', ' [\n ]\n']) {
      const r = await readSource(jsonSource, { path: await file(t, 'json') });
      expect(r.rows).toEqual([]);
    }
  });

  it.each([
    ['', /it is empty/],
    ['{"a":1}', /does not hold a JSON array: it starts with "\{" on line 1.*ndjson source/],
    ['[{"a":1},]', /trailing comma.*line 1/],
    ['[{"a":1}\n{"b":2}]', /expected "," or "\]" after element 0, found "\{" at line 2/],
    ['[{"a":1},{"a":2}', /ends inside the array, after 2 elements.*cut short/],
    ['[{"a":1}] x', /unexpected text after the closing "\]"/],
  ])('explains a file that is not one JSON array: %j', async (content, message) => {
    await expect(readSource(jsonSource, { path: await file(content, 'json') })).rejects.toThrow(message);
  });
});
