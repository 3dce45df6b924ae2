import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { type FileMetaData, parquetMetadata, parquetRead, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { type ColumnPiece, chunkRange, FlatColumnReader, planColumns, readRanges } from './flat-column.ts';
import { parsers } from './values.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-flat-column-'));

/** Column `name` of rows [from, to) of row group `g`, as hyparquet's own reader decodes it. */
async function reference(buf: ArrayBuffer, metadata: FileMetaData, name: string, start: number, end: number) {
  const out: unknown[] = [];
  await parquetRead({
    file: buf,
    metadata,
    columns: [name],
    rowStart: start,
    rowEnd: end,
    compressors,
    utf8: false,
    parsers,
    onChunk: ({ columnData, rowStart }) => {
      for (let i = 0; i < columnData.length; i++) out[rowStart - start + i] = columnData[i];
    },
  });
  return out.slice(0, end - start);
}

/** The same through FlatColumnReader, the group's chunks read together by readRanges. */
async function flat(
  buf: ArrayBuffer,
  metadata: FileMetaData,
  g: number,
  name: string,
  from: number,
  to: number,
) {
  const plan = await planColumns(parquetSchema(metadata), [name]);
  expect(plan.nested).toEqual([]);
  const { path } = plan.flat[0]!;
  const groupStart = metadata.row_groups.slice(0, g).reduce((n, rg) => n + Number(rg.num_rows), 0);
  const metas = metadata.row_groups[g]!.columns.map((c) => c.meta_data!);
  const file = { byteLength: buf.byteLength, slice: (s: number, e?: number) => buf.slice(s, e) };
  const chunks = await readRanges(file, metas.map(chunkRange));
  const i = metas.findIndex((m) => m.path_in_schema[0] === name);
  const reader = await FlatColumnReader.open({
    chunk: chunks[i]!,
    meta: metas[i]!,
    schemaPath: path,
    options: { parsers, compressors, utf8: false },
    groupStart,
    selectStart: from,
  });
  // The pages holding rows [from, to), as the source pulls them.
  const pieces: ColumnPiece[] = [];
  for (let p = reader.next(); p && p.start < groupStart + to; p = reader.next()) pieces.push(p);
  const out: unknown[] = [];
  for (const p of pieces)
    for (let k = 0; k < p.data.length; k++) out[p.start - groupStart - from + k] = p.data[k];
  // Whole pages are decoded: the rows before `from` in the first one are cut here, as source.ts does.
  return { values: out.slice(0, to - from), first: pieces[0]?.start };
}

async function compareAll(buf: ArrayBuffer, windows: [number, number][], skipsPages = false) {
  const metadata = parquetMetadata(buf);
  const names = parquetSchema(metadata).children.map((c) => c.element.name);
  let groupStart = 0;
  for (let g = 0; g < metadata.row_groups.length; g++) {
    const rows = Number(metadata.row_groups[g]!.num_rows);
    for (const [a, b] of windows) {
      const from = Math.min(a, rows);
      const to = Math.min(b, rows);
      if (from >= to) continue;
      for (const name of names) {
        const want = await reference(buf, metadata, name, groupStart + from, groupStart + to);
        const got = await flat(buf, metadata, g, name, from, to);
        expect(
          got.first! - groupStart,
          `${name}: first piece starts at or before row ${from}`,
        ).toBeLessThanOrEqual(from);
        // Small pages (the strings span many): those wholly before `from` are skipped, not decoded.
        if (skipsPages && name === 's' && from >= 300) expect(got.first! - groupStart).toBeGreaterThan(0);
        expect(got.values, `${name}, row group ${g}, rows ${from}..${to}`).toEqual(want);
      }
    }
    groupStart += rows;
  }
}

describe('flat column reader', () => {
  it('decodes what DuckDB writes (v1 pages, dictionaries, nulls) exactly as hyparquet does, from any row', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const path = join(dir, 'duckdb.parquet');
    await conn.run(
      `COPY (SELECT i AS id, CASE WHEN i % 7 = 0 THEN NULL ELSE 'name ' || (i % 13) END AS name,
              CASE WHEN i % 5 = 0 THEN NULL ELSE i * 0.25 END AS amount, i % 3 = 0 AS flag,
              DATE '2026-01-01' + (i % 40)::INTEGER AS day, (i * 1000)::DECIMAL(12, 2) AS price,
              CASE WHEN i % 6 IN (0, 1) THEN NULL ELSE 'note ü ' || i || ' 🚚' END AS note
            FROM range(5000) t(i)) TO '${path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`,
    );
    conn.closeSync();
    db.closeSync();
    const bytes = readFileSync(path);
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    await compareAll(buf, [
      [0, 5000],
      [1, 3],
      [700, 2048],
      [2047, 2048],
    ]);
  });

  it('decodes invalid UTF-8 in a PLAIN text page as hyparquet does (U+FFFD for each bad sequence)', async () => {
    const bad = [
      [0xc3],
      [0xed, 0xa0, 0x80],
      [0xf0, 0x9f, 0x9a],
      [0x61, 0xff, 0x62],
      [0xe2, 0x82],
      [0xc3, 0xa9],
    ];
    const n = 600;
    const buf = parquetWriteBuffer({
      columnData: [
        {
          name: 's',
          data: Array.from({ length: n }, (_, i) =>
            i % 5 === 0 ? null : Uint8Array.from([...bad[i % 6]!, i % 251]),
          ),
          type: 'STRING',
          encoding: 'PLAIN',
        },
      ],
    });
    await compareAll(buf, [
      [0, n],
      [7, 9],
    ]);
  });

  it('decodes many v2 pages per row group (hyparquet-writer, small pages), nulls across page ends', async () => {
    const n = 3000;
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'id', data: Array.from({ length: n }, (_, i) => BigInt(i)), type: 'INT64', nullable: false },
        {
          name: 's',
          data: Array.from({ length: n }, (_, i) => (i % 4 === 0 ? null : `v${i}`)),
          type: 'STRING',
        },
        {
          name: 'x',
          data: Array.from({ length: n }, (_, i) => (i % 9 === 0 ? null : i / 3)),
          type: 'DOUBLE',
        },
        {
          name: 'b',
          data: Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : i % 2 === 0)),
          type: 'BOOLEAN',
        },
      ],
      rowGroupSize: 1200,
      pageSize: 512,
    });
    const metadata = parquetMetadata(buf);
    const pages = metadata.row_groups[0]!.columns[1]!.meta_data!.total_compressed_size;
    expect(Number(pages)).toBeGreaterThan(1024); // several pages in a chunk
    await compareAll(
      buf,
      [
        [0, 1200],
        [5, 6],
        [333, 1111],
        [1199, 1200],
      ],
      true,
    );
  });
});
