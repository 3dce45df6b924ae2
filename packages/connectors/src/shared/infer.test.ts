import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Row, SOURCE_LINE } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSource } from '../../test/harness.ts';
import { byLine, figures, run, tinyChunks } from '../../test/parallel-harness.ts';
import { csvSource } from '../csv/source.ts';
import { jsonSource } from '../json/source.ts';
import { ndjsonSource } from '../ndjson/source.ts';
import { inferSchema } from './infer.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-infer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
let files = 0;
async function file(content: string): Promise<string> {
  const path = join(dir, `f${files++}`);
  await writeFile(path, content);
  return path;
}

const plain = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r)));

describe('inferSchema', () => {
  it('is conservative: leading zeros stay text, ints and decimals make a number, empties decide nothing', () => {
    const s = inferSchema([
      { id: '1', zip: '007', price: '3', ok: 'true', day: '2024-01-31', at: '2024-01-31', code: 'A1', e: '' },
      {
        id: '2',
        zip: '123',
        price: '3.5',
        ok: 'FALSE',
        day: '',
        at: '2024-02-01T10:00:00Z',
        code: '12',
        e: null,
      },
    ]);
    expect(s.types).toEqual({
      id: 'integer',
      zip: 'string',
      price: 'number',
      ok: 'boolean',
      day: 'date',
      at: 'timestamp',
      code: 'string',
    });
    expect(s.undecided).toEqual({ e: 'no value in the sample (only nulls or empty text)' });
  });

  it('types JSON values, and leaves nested and mixed ones as they are', () => {
    const s = inferSchema([
      { n: 1, x: 1.5, b: true, o: { a: 1 }, m: 1, big: '12345678901234567890' },
      { n: 2, x: 2, b: false, o: [1], m: 'one', big: '1' },
    ]);
    expect(s.types).toEqual({ n: 'integer', x: 'number', b: 'boolean', big: 'string' });
    expect(s.undecided).toEqual({
      o: 'objects or arrays: flatten or unnest them, or cast them to string',
      m: 'mixed values (integer, string)',
    });
  });
});

// 1,200 rows: the first 1,000 (the sample) fit; later ones break each inferred type once.
function rowsAsText(n: number, bad: Record<number, Partial<Record<string, string>>>) {
  const out: Record<string, string>[] = [];
  for (let i = 1; i <= n; i++) {
    out.push({
      id: String(i),
      price: i % 2 ? `${i}.5` : String(i),
      day: `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
      zip: i === 3 ? '00042' : String(10000 + i),
      note: i % 10 ? `n${i}` : '',
      ...bad[i],
    });
  }
  return out;
}
const bad = { 1100: { id: 'x1100' }, 1150: { day: '2024-02-30' }, 1190: { price: 'cheap' } };

describe('infer: true', () => {
  it('csv: casts by the sample, logs the types, quarantines what does not fit later on', async () => {
    const rows = rowsAsText(1200, bad);
    const text = `id,price,day,zip,note\n${rows.map((r) => Object.values(r).join(',')).join('\n')}\n`;
    const path = await file(text);
    const { rows: out, harness } = await readSource(csvSource, { path, infer: true, batchSize: 64 });
    expect(out).toHaveLength(1197);
    expect(plain(out.slice(0, 2))).toEqual([
      { id: 1, price: 1.5, day: '2024-01-02', zip: '10001', note: 'n1' },
      { id: 2, price: 2, day: '2024-01-03', zip: '10002', note: 'n2' },
    ]);
    expect(out[9]!.note).toBe('');
    expect(harness.logs).toEqual([
      'info types inferred from the first 1000 rows: id integer, price number, day date, zip string, note string',
    ]);
    expect(harness.quarantined.map((q) => q.line)).toEqual([1101, 1151, 1191]);
    expect(harness.quarantined[0]!.reason).toBe(
      'field "id": cannot cast "x1100" to integer: expected a decimal integer such as 42 or -7 ' +
        '(type inferred from the first 1000 rows; declare the field in schema to choose its type)',
    );
    expect(harness.quarantined[0]!.row?.[SOURCE_LINE]).toBe(1101);
  });

  it('csv: a declared type wins, inferRows sets the sample', async () => {
    const path = await file('a,b\n1,2\n2,x\n');
    const { rows, harness } = await readSource(csvSource, {
      path,
      infer: true,
      inferRows: 1,
      schema: { a: 'string' },
    });
    expect(plain(rows)).toEqual([{ a: '1', b: 2 }]);
    expect(harness.logs[0]).toMatch(/first 1 rows: b integer$/);
    expect(harness.quarantined[0]!.reason).toMatch(/^field "b": cannot cast "x" to integer/);
  });

  it('ndjson and json: native values typed, text dates cast, a later misfit quarantined', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => ({
      id: i + 1,
      at: `2024-03-0${(i % 9) + 1} 10:00`,
      v: i / 2,
    }));
    lines.push({ id: 'thirty-one' as unknown as number, at: '2024-03-01 10:00', v: 1 });
    const nd = await file(lines.map((l) => JSON.stringify(l)).join('\n'));
    const js = await file(JSON.stringify(lines, null, 1));
    for (const [def, path] of [
      [ndjsonSource, nd],
      [jsonSource, js],
    ] as const) {
      const { rows, harness } = await readSource(def, { path, infer: true, inferRows: 20, batchSize: 7 });
      expect(rows).toHaveLength(30);
      expect(plain(rows.slice(0, 2))).toEqual([
        { id: 1, at: '2024-03-01T10:00:00.000Z', v: 0 },
        { id: 2, at: '2024-03-02T10:00:00.000Z', v: 0.5 },
      ]);
      expect(harness.logs).toEqual([
        `info types inferred from the first 20 rows: id integer, at timestamp, v number`,
      ]);
      expect(harness.quarantined).toHaveLength(1);
      expect(harness.quarantined[0]!.reason).toMatch(/^field "id": cannot cast "thirty-one" to integer/);
    }
  });

  it('json: a declared schema casts without infer', async () => {
    const path = await file('[{"id": "7", "d": "2024-01-01"}, {"id": "x", "d": null}]');
    const { rows, harness } = await readSource(jsonSource, { path, schema: { id: 'integer' } });
    expect(plain(rows)).toEqual([{ id: 7, d: '2024-01-01' }]);
    expect(harness.quarantined[0]!.reason).toMatch(
      /cannot cast "x" to integer.*\(type declared in schema\)$/,
    );
  });
});

describe('infer on the parallel path', { timeout: 60_000 }, () => {
  it('infers once from the head, so every chunk casts alike, as the serial read does', async () => {
    const rows = rowsAsText(1200, bad);
    const csv = await file(
      `id,price,day,zip,note\n${rows.map((r) => Object.values(r).join(',')).join('\n')}\n`,
    );
    const nd = await file(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    for (const [source, path] of [
      ['csv', csv],
      ['ndjson', nd],
    ] as const) {
      const spec = (out: string) => ({
        name: 'infer',
        flow: [
          { source, with: { path, infer: true } },
          { sink: 'ndjson', with: { path: out } },
        ],
      });
      const a = join(dir, `${source}-serial.ndjson`);
      const b = join(dir, `${source}-threads.ndjson`);
      const serial = await run(spec(a), `${a}-state`, false);
      const threaded = await run(spec(b), `${b}-state`, tinyChunks(4096));
      expect(serial.report.status).toBe('success');
      expect(figures(threaded.report)).toEqual(figures(serial.report));
      expect(await readFile(b, 'utf8')).toBe(await readFile(a, 'utf8'));
      expect(byLine(threaded.quarantine)).toEqual(byLine(serial.quarantine));
      expect(serial.quarantine).toHaveLength(3);
      expect(JSON.parse((await readFile(a, 'utf8')).split('\n')[0]!)).toMatchObject({ id: 1, price: 1.5 });
    }
  });
});
