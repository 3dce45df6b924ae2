import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { openSink, readSource } from '../../test/harness.ts';
import { schemaElements } from './schema.ts';
import { parquetSink } from './sink.ts';
import { parquetSource } from './source.ts';
import { mostlyDistinct, TextColumn } from './text-column.ts';

// Text a UTF-8 encoder must get right: two- and four-byte characters, a lone surrogate (written
// as U+FFFD by TextEncoder and Buffer alike), an empty string, nulls (two in a row too).
const tricky = (i: number) =>
  [`id-${i}`, `Müller ${i}`, null, `🚚 ${i} "quoted"`, `\ud800 lone ${i}`, '', null, null][i % 8] ?? null;

const distinctOf = (values: (string | null)[]) => mostlyDistinct(values.length, (i) => values[i]!);

/** One row group written as the sink hands columns to hyparquet-writer: from strings or from TextColumns. */
async function writeFile(columns: Record<string, (string | null)[]>, viaText: boolean): Promise<Buffer> {
  const out = new ByteWriter();
  const names = Object.keys(columns);
  const writer = new ParquetWriter({
    writer: out,
    schema: schemaElements(names.map((n) => [n, 'string'])) as never,
    codec: 'UNCOMPRESSED',
  });
  await writer.write({
    columnData: names.map((name) => {
      if (!viaText) return { name, data: columns[name] as never };
      const text = new TextColumn();
      for (const v of columns[name]!) text.push(v);
      const { data, plain } = text.values();
      return { name, data: data as never, ...(plain ? { encoding: 'PLAIN' as const } : {}) };
    }),
    rowGroupSize: columns[names[0]!]!.length,
  });
  await writer.finish();
  return Buffer.from(out.getBuffer());
}

describe('parquet text columns held as UTF-8', () => {
  it('picks as PLAIN the columns the writer would not dictionary-encode', () => {
    const n = 5000;
    expect(distinctOf(Array.from({ length: n }, (_, i) => `user-${i}@mail.test`))).toBe(true);
    expect(distinctOf(Array.from({ length: n }, (_, i) => ['US', 'DE', 'FR'][i % 3]!))).toBe(false);
    // The writer's line: distinct values over 90% of the sampled bytes.
    expect(distinctOf(Array.from({ length: n }, (_, i) => (i % 20 === 0 ? 'same' : `v${i}`)))).toBe(true);
    expect(distinctOf(Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 'same' : `v${i}`)))).toBe(false);
    expect(distinctOf([null, null])).toBe(true);
    expect(distinctOf(['only'])).toBe(true);
  });

  it('gives back each value, null or text, as pushed', () => {
    const values = Array.from({ length: 3000 }, (_, i) => tricky(i));
    const text = new TextColumn();
    for (const v of values) text.push(v);
    const { data, plain } = text.values();
    expect(plain).toBe(true);
    const decoded = data.map((v) => (v === null ? null : Buffer.from(v as Uint8Array).toString('utf8')));
    expect(decoded).toEqual(values.map((v) => (v === null ? null : v.replace('\ud800', '\ufffd'))));
  });

  it('writes the same bytes as the writer does from the strings, PLAIN and dictionary columns alike', async () => {
    const n = 3000;
    const distinct = Array.from({ length: n }, (_, i) => tricky(i));
    const repeated = Array.from({ length: n }, (_, i) => ['ü', 'x', null, '🚚'][i % 4] ?? null);
    expect(distinctOf(distinct)).toBe(true);
    expect(distinctOf(repeated)).toBe(false);
    const columns = { distinct, repeated };
    expect((await writeFile(columns, true)).equals(await writeFile(columns, false))).toBe(true);
  });

  it('round-trips through the sink and the source, across row groups', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sluice-parquet-')), 'text.parquet');
    const rows = Array.from({ length: 2500 }, (_, i) => ({ i, s: tricky(i), c: ['a', 'b'][i % 2]! }));
    const { writer } = await openSink(parquetSink, { path, rowGroupSize: 1000 });
    await writer.start(undefined);
    await writer.write(rows.slice(0, 700));
    await writer.write(rows.slice(700));
    await writer.close();
    const back = await readSource(parquetSource, { path });
    expect(back.rows).toEqual(
      rows.map((r) => ({ ...r, s: typeof r.s === 'string' ? r.s.replace('\ud800', '\ufffd') : r.s })),
    );
  });
});
