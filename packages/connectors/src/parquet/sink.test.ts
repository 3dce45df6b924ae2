import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '@sluice/core';
import { parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { openSink, readSource } from '../../test/harness.ts';
import { parquetSink } from './sink.ts';
import { parquetSource } from './source.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-parquet-'));

async function writeRows(config: Record<string, unknown>, batches: Row[][]) {
  const { writer, harness } = await openSink(parquetSink, config);
  await writer.start(undefined);
  for (const b of batches) await writer.write(b);
  const result = await writer.close();
  return { result, harness };
}

const meta = (path: string) => {
  const buf = readFileSync(path);
  return parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer);
};

describe('parquet sink', () => {
  it('round-trips every type through the parquet source', async () => {
    const path = join(tmp(), 'all.parquet');
    const rows: Row[] = [
      {
        s: 'héllo',
        i: 42,
        big: '9007199254740993',
        n: 1.5,
        b: true,
        d: '2026-12-05',
        ts: '2026-12-05T10:20:30.123456Z',
        j: { a: [1, 'x', null], b: { c: true } },
      },
      {
        s: null,
        i: -7,
        big: '-9223372036854775808',
        n: -0.25,
        b: false,
        d: '1969-12-31',
        ts: '1970-01-01T00:00:00.000Z',
        j: [1, 2],
      },
    ];
    const { result, harness } = await writeRows(
      { path, schema: { big: 'integer', d: 'date', ts: 'timestamp' } },
      [rows],
    );
    expect(harness.quarantined).toEqual([]);
    expect(result).toMatchObject({
      rowsWritten: 2,
      location: path,
      verification: { level: 'count', rowsHanded: 2, rowsFound: 2 },
    });
    expect(result.bytes).toBe(statSync(path).size);
    const back = await readSource(parquetSource, { path });
    expect(back.rows).toEqual(rows);
    const types = Object.fromEntries(
      meta(path)
        .schema.slice(1)
        .map((e) => [e.name, [e.type, e.converted_type]]),
    );
    expect(types).toEqual({
      s: ['BYTE_ARRAY', 'UTF8'],
      i: ['INT64', undefined],
      big: ['INT64', undefined],
      n: ['DOUBLE', undefined],
      b: ['BOOLEAN', undefined],
      d: ['INT32', 'DATE'],
      ts: ['INT64', 'TIMESTAMP_MICROS'],
      j: ['BYTE_ARRAY', 'JSON'],
    });
  });

  it('keeps ISO-looking strings as strings unless declared; quarantines values a column cannot hold and fields after the first group', async () => {
    const path = join(tmp(), 'q.parquet');
    const { result, harness } = await writeRows(
      { path, rowGroupSize: 2, schema: { id: 'integer', when: 'timestamp' } },
      [
        [
          { id: 1, day: '2026-01-02', when: '2026-01-02T03:04:05+01:00' },
          { id: 'two', day: '2026-01-03', when: '2026-01-02T03:04:05Z' },
          { id: 3, day: '2026-01-04', when: 'yesterday' },
          { id: 4, day: '2026-01-05', when: null, extra: 'x' },
        ],
      ],
    );
    expect(result.rowsWritten).toBe(1);
    expect(harness.quarantined.map((q) => q.reason)).toEqual([
      'column id (integer): "two" is not an integer within 64 bits',
      expect.stringContaining('column when (timestamp): "yesterday" is not an ISO 8601 timestamp'),
      expect.stringContaining('field extra is not a column of the file'),
    ]);
    const back = await readSource(parquetSource, { path });
    expect(back.rows).toEqual([{ id: 1, day: '2026-01-02', when: '2026-01-02T02:04:05.000Z' }]);
  });

  it('writes one row group per rowGroupSize rows', async () => {
    const path = join(tmp(), 'groups.parquet');
    const rows = Array.from({ length: 25 }, (_, i) => ({ i }));
    await writeRows({ path, rowGroupSize: 10 }, [rows.slice(0, 7), rows.slice(7)]);
    expect(meta(path).row_groups.map((g) => Number(g.num_rows))).toEqual([10, 10, 5]);
    expect((await readSource(parquetSource, { path })).rows).toEqual(rows);
  });

  for (const compression of ['snappy', 'gzip', 'brotli', 'none'] as const) {
    it(`compresses with ${compression}`, async () => {
      const path = join(tmp(), `${compression}.parquet`);
      const rows = Array.from({ length: 500 }, (_, i) => ({ i, s: `row ${i % 7}` }));
      await writeRows({ path, compression }, [rows]);
      const codecs = meta(path).row_groups[0]!.columns.map((c) => c.meta_data?.codec);
      expect(codecs).toEqual(
        Array(2).fill(compression === 'none' ? 'UNCOMPRESSED' : compression.toUpperCase()),
      );
      expect((await readSource(parquetSource, { path })).rows).toEqual(rows);
    });
  }

  it('rejects zstd and verify: content in the config', async () => {
    const { Registry } = await import('@sluice/core');
    expect(
      new Registry().check(parquetSink, { path: 'x.parquet', compression: 'zstd' }, 'with').length,
    ).toBeGreaterThan(0);
    const issues = new Registry().check(parquetSink, { path: 'x.parquet', verify: 'content' }, 'with');
    expect(issues.map((i) => i.message).join()).toContain('verifies `count`');
  });

  it('resumes: truncates to the checkpoint, keeps its row groups and writes one footer for all', async () => {
    const path = join(tmp(), 'resume.parquet');
    const rows = Array.from({ length: 30 }, (_, i) => ({ i, t: `t${i}` }));
    const a = await openSink(parquetSink, { path, rowGroupSize: 8 }, { key: 'k' });
    await a.writer.start(undefined);
    await a.writer.write(rows.slice(0, 20));
    const state = await a.writer.commit({ seq: 1, position: 20 });
    expect(state).toMatchObject({ rows: 20 });
    await a.writer.write(rows.slice(20, 28)); // a full group reaches the file, then the crash
    await a.writer.abort(new Error('crash'));
    expect(statSync(`${path}.partial`).size).toBeGreaterThan((state as { bytes: number }).bytes);
    const b = await openSink(parquetSink, { path, rowGroupSize: 8 }, { key: 'k' });
    await b.writer.start(JSON.parse(JSON.stringify(state)));
    await b.writer.write(rows.slice(20));
    const result = await b.writer.close();
    expect(result.rowsWritten).toBe(10);
    // Verified: the whole file, the 20 rows before the checkpoint included.
    expect(result.verification).toMatchObject({ rowsHanded: 30, rowsFound: 30 });
    expect(meta(path).row_groups.map((g) => Number(g.num_rows))).toEqual([8, 8, 4, 8, 2]);
    expect((await readSource(parquetSource, { path })).rows).toEqual(rows);
  });

  it('refuses a checkpoint the partial file no longer matches', async () => {
    const path = join(tmp(), 'gone.parquet');
    const a = await openSink(parquetSink, { path });
    await expect(a.writer.start({ bytes: 100, rows: 3, schema: null, rowGroups: [] })).rejects.toThrow(
      /cannot resume/,
    );
    await expect(a.writer.start({ bytes: 'x' })).rejects.toThrow(/cannot resume/);
  });

  it('does not overwrite when overwrite is false, and never leaves a half file at the path', async () => {
    const path = join(tmp(), 'keep.parquet');
    writeFileSync(path, 'old');
    const a = await openSink(parquetSink, { path, overwrite: false });
    await expect(a.writer.start(undefined)).rejects.toThrow(/overwrite is false/);
    const b = await openSink(parquetSink, { path });
    await b.writer.start(undefined);
    await b.writer.write([{ a: 1 }]);
    await b.writer.commit({ seq: 1, position: 1 });
    expect(readFileSync(path, 'utf8')).toBe('old');
    await b.writer.close();
    expect((await readSource(parquetSource, { path })).rows).toEqual([{ a: 1 }]);
  });
});
