import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { openSink, readSource } from '../../test/harness.ts';
import { encodeStrings, mostlyDistinct } from './plain-strings.ts';
import { schemaElements } from './schema.ts';
import { parquetSink } from './sink.ts';
import { parquetSource } from './source.ts';

// Text a UTF-8 encoder must get right: two- and four-byte characters, a lone surrogate (written
// as U+FFFD by TextEncoder and Buffer.from alike), an empty string, nulls.
const tricky = (i: number) =>
  [`id-${i}`, `Müller ${i}`, `🚚 ${i} "quoted"`, `\ud800 lone ${i}`, '', null][i % 6] ?? null;

/** A file of one row group, written as the sink hands columns to hyparquet-writer. */
async function writeFile(columns: Record<string, unknown[]>, plain: Set<string>): Promise<Uint8Array> {
  const out = new ByteWriter();
  const names = Object.keys(columns);
  const writer = new ParquetWriter({
    writer: out,
    schema: schemaElements(names.map((n) => [n, 'string'])) as never,
    codec: 'UNCOMPRESSED',
  });
  await writer.write({
    columnData: names.map((name) => {
      const data = [...columns[name]!];
      if (!plain.has(name)) return { name, data: data as never };
      encodeStrings(data);
      return { name, data: data as never, encoding: 'PLAIN' as const };
    }),
    rowGroupSize: columns[names[0]!]!.length,
  });
  await writer.finish();
  return new Uint8Array(out.getBuffer());
}

describe('parquet text columns written PLAIN from bytes', () => {
  it('picks the columns the writer would not dictionary-encode', () => {
    const n = 5000;
    expect(mostlyDistinct(Array.from({ length: n }, (_, i) => `user-${i}@mail.test`))).toBe(true);
    expect(mostlyDistinct(Array.from({ length: n }, (_, i) => ['US', 'DE', 'FR'][i % 3]))).toBe(false);
    // The writer's line: distinct values over 90% of the sampled bytes.
    expect(mostlyDistinct(Array.from({ length: n }, (_, i) => (i % 20 === 0 ? 'same' : `v${i}`)))).toBe(true);
    expect(mostlyDistinct(Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 'same' : `v${i}`)))).toBe(false);
    expect(mostlyDistinct([null, null])).toBe(true);
    expect(mostlyDistinct(['only'])).toBe(true);
  });

  it('writes the same bytes as the writer does from the strings', async () => {
    const n = 3000;
    const distinct = Array.from({ length: n }, (_, i) => tricky(i));
    const repeated = Array.from({ length: n }, (_, i) => ['ü', 'x', null][i % 3] ?? null);
    expect(mostlyDistinct(distinct)).toBe(true);
    expect(mostlyDistinct(repeated)).toBe(false);
    const columns = { distinct, repeated };
    const fromStrings = await writeFile(columns, new Set());
    const fromBytes = await writeFile(columns, new Set(['distinct']));
    expect(Buffer.from(fromBytes).equals(Buffer.from(fromStrings))).toBe(true);
  });

  it('round-trips through the sink and the source', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sluice-parquet-')), 'text.parquet');
    const rows = Array.from({ length: 2000 }, (_, i) => ({ i, s: tricky(i), c: ['a', 'b'][i % 2]! }));
    const { writer } = await openSink(parquetSink, { path });
    await writer.start(undefined);
    await writer.write(rows);
    await writer.close();
    const back = await readSource(parquetSource, { path });
    expect(back.rows).toEqual(
      rows.map((r) => ({ ...r, s: typeof r.s === 'string' ? r.s.replace('\ud800', '\ufffd') : r.s })),
    );
  });
});
