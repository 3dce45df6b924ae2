import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type Row } from '@sluice/core';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteFile } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { readSource, sourceContext } from '../../test/harness.ts';
import type { ParquetSourceConfig } from './config.ts';
import { parquetSource } from './source.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-parquet-src-'));
const meta = (path: string) => {
  const buf = readFileSync(path);
  return parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer);
};

/** 300 rows in three row groups of 100. */
function threeGroups(path: string) {
  const n = 300;
  parquetWriteFile({
    filename: path,
    columnData: [
      { name: 'id', data: Array.from({ length: n }, (_, i) => i), type: 'INT32' },
      { name: 'name', data: Array.from({ length: n }, (_, i) => `name ${i}`), type: 'STRING' },
      { name: 'score', data: Array.from({ length: n }, (_, i) => i / 4), type: 'DOUBLE' },
    ],
    rowGroupSize: 100,
  });
  return Array.from({ length: n }, (_, i) => ({ id: i, name: `name ${i}`, score: i / 4 }));
}

describe('parquet source', () => {
  it('reads only the selected columns', async () => {
    const path = join(tmp(), 'cols.parquet');
    const rows = threeGroups(path);
    const r = await readSource(parquetSource, { path, columns: ['score', 'id'] });
    expect(r.rows).toEqual(rows.map(({ id, score }) => ({ score, id })));
    await expect(readSource(parquetSource, { path, columns: ['nope'] })).rejects.toThrow(
      /config.columns names nope, which .* does not have; its columns are id, name, score/,
    );
  });

  it('streams row group by row group: a batch comes before the later groups are read', async () => {
    const path = join(tmp(), 'stream.parquet');
    const rows = threeGroups(path);
    const { ctx } = sourceContext<ParquetSourceConfig>(parquetSource, { path, batchSize: 30 });
    const it = parquetSource.read(ctx)[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value.rows).toEqual(rows.slice(0, 30));
    expect(first.value.position).toEqual({ rowGroup: 0, row: 30 });
    expect(first.value.progress).toEqual({ done: 30, total: 300 });
    // Overwrite the third row group's bytes: a reader that had loaded the file would not notice.
    const buf = readFileSync(path);
    const meta = parquetMetadata(
      buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer,
    );
    const third = meta.row_groups[2]!.columns[0]!.meta_data!;
    const fd = openSync(path, 'r+');
    writeSync(
      fd,
      Buffer.alloc(Number(third.total_compressed_size), 0xff),
      0,
      undefined,
      Number(third.data_page_offset),
    );
    closeSync(fd);
    const seen: Row[] = [...first.value.rows];
    const failure = await (async () => {
      for (let r = await it.next(); !r.done; r = await it.next()) seen.push(...r.value.rows);
    })().catch((e: unknown) => e);
    expect(seen.slice(0, 200)).toEqual(rows.slice(0, 200));
    expect(
      failure instanceof Error || JSON.stringify(seen.slice(200)) !== JSON.stringify(rows.slice(200)),
    ).toBe(true);
  });

  it('reads pages as batches reach them: batches across page ends, resumed mid-page, a bad page named', async () => {
    const path = join(tmp(), 'pages.parquet');
    const n = 2500;
    const rows = Array.from({ length: n }, (_, i) => ({
      id: i,
      s: i % 4 === 0 ? null : `v${i}`,
      x: i % 9 === 0 ? null : i / 3,
    }));
    parquetWriteFile({
      filename: path,
      columnData: [
        { name: 'id', data: rows.map((r) => r.id), type: 'INT32' },
        { name: 's', data: rows.map((r) => r.s), type: 'STRING' },
        { name: 'x', data: rows.map((r) => r.x), type: 'DOUBLE' },
      ],
      rowGroupSize: 1000,
      pageSize: 256,
    });
    expect((await readSource(parquetSource, { path, batchSize: 37 })).rows).toEqual(rows);
    const resumed = await readSource(
      parquetSource,
      { path, batchSize: 53 },
      { resumeFrom: { rowGroup: 1, row: 333 } },
    );
    expect(resumed.rows).toEqual(rows.slice(1333));
    // A page in the middle of the second group's `s` chunk overwritten: the rows before it come,
    // then the read stops naming the file, the row group and the column.
    const buf = readFileSync(path);
    const meta = parquetMetadata(
      buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer,
    );
    const s = meta.row_groups[1]!.columns[1]!.meta_data!;
    const middle = Number(s.data_page_offset) + Math.floor(Number(s.total_compressed_size) / 2);
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(64, 0xff), 0, undefined, middle);
    closeSync(fd);
    const { ctx } = sourceContext<ParquetSourceConfig>(parquetSource, { path, batchSize: 100 });
    const seen: Row[] = [];
    const failure = await (async () => {
      for await (const b of parquetSource.read(ctx)) seen.push(...b.rows);
    })().catch((e: unknown) => e);
    // Pages decode as batches reach them: the second group's rows before the bad page come first.
    expect(seen.length).toBeGreaterThan(1000);
    expect(seen).toEqual(rows.slice(0, seen.length));
    expect(failure).toMatchObject({
      code: ErrorCode.CONFIG,
      message: expect.stringMatching(/pages\.parquet row group 1 column s: cannot read it as Parquet/),
    });
  });

  it('resumes from a position inside a row group with exactly the rest', async () => {
    const path = join(tmp(), 'resume.parquet');
    const rows = threeGroups(path);
    const r = await readSource(
      parquetSource,
      { path, batchSize: 70 },
      { resumeFrom: { rowGroup: 1, row: 40 } },
    );
    expect(r.rows).toEqual(rows.slice(140));
    expect(r.positions[0]).toEqual({ rowGroup: 1, row: 100 });
    const end = await readSource(parquetSource, { path }, { resumeFrom: { rowGroup: 2, row: 100 } });
    expect(end.rows).toEqual([]);
    await expect(readSource(parquetSource, { path }, { resumeFrom: { offset: 3 } })).rejects.toThrow(
      /cannot resume/,
    );
  });

  it('reads a glob of files in name order with fileField, and resumes in the second', async () => {
    const dir = tmp();
    parquetWriteFile({
      filename: join(dir, 'a.parquet'),
      columnData: [{ name: 'n', data: [1, 2], type: 'INT32' }],
    });
    parquetWriteFile({
      filename: join(dir, 'b.parquet'),
      columnData: [{ name: 'n', data: [3], type: 'INT32' }],
    });
    const r = await readSource(parquetSource, { path: join(dir, '*.parquet'), fileField: 'file' });
    expect(r.rows).toEqual([
      { n: 1, file: join(dir, 'a.parquet') },
      { n: 2, file: join(dir, 'a.parquet') },
      { n: 3, file: join(dir, 'b.parquet') },
    ]);
    const rest = await readSource(
      parquetSource,
      { path: join(dir, '*.parquet'), fileField: 'file' },
      { resumeFrom: { file: join(dir, 'b.parquet'), at: null } },
    );
    expect(rest.rows).toEqual([{ n: 3, file: join(dir, 'b.parquet') }]);
  });

  it('quarantines a row whose value has no JSON form, naming the column', async () => {
    const path = join(tmp(), 'nan.parquet');
    parquetWriteFile({
      filename: path,
      columnData: [
        { name: 'id', data: [1, 2, 3], type: 'INT32' },
        { name: 'x', data: [0.5, Number.NaN, 2], type: 'DOUBLE' },
      ],
    });
    const r = await readSource(parquetSource, { path });
    expect(r.rows).toEqual([
      { id: 1, x: 0.5 },
      { id: 3, x: 2 },
    ]);
    expect(r.harness.quarantined).toEqual([
      { reason: 'row group 0, row 1: column x: NaN has no JSON form', row: { id: 2, x: null } },
    ]);
    expect(r.harness.origin).toBe(path);
  });

  it('reads a column named __proto__ as a field of the row, not its prototype', async () => {
    const path = join(tmp(), 'proto.parquet');
    parquetWriteFile({
      filename: path,
      columnData: [
        { name: '__proto__', data: ['a', null], type: 'STRING' },
        { name: 'n', data: [1, 2], type: 'INT32' },
      ],
    });
    const { rows } = await readSource(parquetSource, { path });
    expect(rows.map((r) => Object.getPrototypeOf(r))).toEqual([Object.prototype, Object.prototype]);
    expect(rows.map((r) => Object.getOwnPropertyDescriptor(r, '__proto__')?.value)).toEqual(['a', null]);
    expect(rows.map((r) => r.n)).toEqual([1, 2]);
  });

  it('names the file when it is not Parquet, and a missing file as not found', async () => {
    const dir = tmp();
    const path = join(dir, 'bad.parquet');
    writeFileSync(path, 'not parquet at all');
    await expect(readSource(parquetSource, { path })).rejects.toThrow(
      /bad\.parquet: cannot read it as Parquet/,
    );
    await expect(readSource(parquetSource, { path: join(dir, 'none.parquet') })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('quarantines with the bad column null even in the first row, and hands on the rows before a bad page', async () => {
    const first = join(tmp(), 'nan-first.parquet');
    parquetWriteFile({
      filename: first,
      columnData: [
        { name: 'id', data: [1, 2], type: 'INT32' },
        { name: 'x', data: [Number.NaN, 0.5], type: 'DOUBLE' },
      ],
    });
    const q = await readSource(parquetSource, { path: first });
    expect(q.harness.quarantined).toEqual([
      { reason: 'row group 0, row 0: column x: NaN has no JSON form', row: { id: 1, x: null } },
    ]);

    // The third data page of column s is made unreadable: rows 0.. before it still come out.
    const path = join(tmp(), 'badpage.parquet');
    const n = 1000;
    parquetWriteFile({
      filename: path,
      columnData: [
        { name: 'id', data: Array.from({ length: n }, (_, i) => i), type: 'INT32' },
        { name: 's', data: Array.from({ length: n }, (_, i) => `value-${i}`), type: 'STRING' },
      ],
      pageSize: 1024,
      codec: 'UNCOMPRESSED',
    });
    const buf = readFileSync(path);
    const { parquetHeader } = await import('hyparquet/src/column.js');
    const s = parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer)
      .row_groups[0]!.columns[1]!.meta_data!;
    const base = Number(s.dictionary_page_offset || s.data_page_offset);
    const reader = {
      view: new DataView(buf.buffer, buf.byteOffset + base, Number(s.total_compressed_size)),
      offset: 0,
    };
    let row = 0;
    let page = 0;
    let badAt = -1;
    let badRow = -1;
    while (reader.offset < reader.view.byteLength - 1) {
      const at = reader.offset;
      const h = parquetHeader(reader);
      if (h.type !== 'DICTIONARY_PAGE') {
        if (page++ === 2) [badAt, badRow] = [base + at, row];
        row += h.data_page_header_v2?.num_rows ?? h.data_page_header!.num_values;
      }
      reader.offset += h.compressed_page_size;
    }
    buf.fill(0xff, badAt, badAt + 16);
    writeFileSync(path, buf);
    expect(badRow).toBeGreaterThan(100);
    const { ctx } = sourceContext<ParquetSourceConfig>(parquetSource, { path, batchSize: 500 });
    const seen: Row[] = [];
    const failure = await (async () => {
      for await (const b of parquetSource.read(ctx)) seen.push(...b.rows);
    })().catch((e: unknown) => e);
    expect(failure).toMatchObject({
      message: expect.stringMatching(/row group 0 column s: cannot read it as Parquet/),
    });
    expect(seen.map((r) => r.id)).toEqual(Array.from({ length: badRow }, (_, i) => i));
  });

  it('keeps a leading U+FEFF in text whether its page is PLAIN or dictionary-encoded', async () => {
    const path = join(tmp(), 'bom.parquet');
    parquetWriteFile({
      filename: path,
      columnData: [
        { name: 'plain', data: Array.from({ length: 50 }, (_, i) => `\uFEFFp${i}`), type: 'STRING' },
        { name: 'dict', data: Array.from({ length: 50 }, (_, i) => `\uFEFFd${i % 2}`), type: 'STRING' },
      ],
    });
    const encodings = meta(path).row_groups[0]!.columns.map((c) => c.meta_data!.encodings);
    expect(encodings[0]).not.toContain('RLE_DICTIONARY');
    expect(encodings[1]).toContain('RLE_DICTIONARY');
    const { rows } = await readSource(parquetSource, { path });
    expect(rows[0]).toEqual({ plain: '\uFEFFp0', dict: '\uFEFFd0' });
  });

  it('reads VARIANT columns (DuckDB writes them) as JSON values', async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const path = join(tmp(), 'variant.parquet');
    await conn.run(`COPY (SELECT * FROM (VALUES
        (0, {'a': 1, 'b': 'x'}::VARIANT), (1, 9007199254740993::BIGINT::VARIANT),
        (2, 'nan'::DOUBLE::VARIANT), (3, [1.5::DECIMAL(10,2), NULL]::VARIANT), (4, NULL)
      ) t(id, v)) TO '${path}' (FORMAT parquet)`);
    const decPath = join(tmp(), 'variant-dec.parquet');
    await conn.run(
      `COPY (SELECT 1 AS id, 1.5::DECIMAL(10,2)::VARIANT AS v) TO '${decPath}' (FORMAT parquet)`,
    );
    conn.closeSync();
    db.closeSync();
    const r = await readSource(parquetSource, { path });
    expect(r.rows).toEqual([
      { id: 0, v: { a: 1, b: 'x' } },
      { id: 1, v: '9007199254740993' },
      { id: 3, v: [1.5, null] },
      { id: 4, v: null },
    ]);
    expect(r.harness.quarantined).toEqual([
      { reason: 'row group 0, row 2: column v: NaN has no JSON form', row: { id: 2, v: null } },
    ]);
    expect((await readSource(parquetSource, { path: decPath })).rows).toEqual([{ id: 1, v: 1.5 }]);
  });
});
