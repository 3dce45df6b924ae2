import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSink, readSource } from '../../test/harness.ts';
import { parquetSink } from './sink.ts';
import { parquetSource } from './source.ts';

// Interop with an independent Parquet implementation: DuckDB reads what Sluice writes, and
// Sluice reads what DuckDB writes (zstd, decimals, nanosecond timestamps, lists, structs, maps).
let db: DuckDBInstance;
let conn: DuckDBConnection;
const dir = mkdtempSync(join(tmpdir(), 'sluice-parquet-duckdb-'));
const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;

beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:');
  conn = await db.connect();
});
afterAll(() => {
  conn?.closeSync();
  db?.closeSync();
});

describe('parquet and DuckDB', () => {
  it('DuckDB reads what the sink writes, with the same values and types', async () => {
    const path = join(dir, 'sluice.parquet');
    const { writer } = await openSink(parquetSink, {
      path,
      compression: 'gzip',
      schema: { big: 'integer', d: 'date', ts: 'timestamp' },
    });
    await writer.start(undefined);
    await writer.write([
      {
        s: 'héllo',
        i: 42,
        big: '9007199254740993',
        n: 1.5,
        b: true,
        d: '2026-12-05',
        ts: '2026-12-05T10:20:30.123456Z',
        j: { a: [1, 'x'] },
      },
      { s: null, i: -7, big: null, n: -0.25, b: false, d: '1969-12-31', ts: '1960-01-01T00:00:00Z', j: null },
    ]);
    await writer.close();
    const src = `read_parquet(${lit(path)})`;
    const types = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`)).getRowObjectsJson();
    expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toEqual({
      s: 'VARCHAR',
      i: 'BIGINT',
      big: 'BIGINT',
      n: 'DOUBLE',
      b: 'BOOLEAN',
      d: 'DATE',
      ts: 'TIMESTAMP WITH TIME ZONE',
      j: expect.stringMatching(/^(JSON|VARCHAR)$/),
    });
    const rows = (
      await conn.runAndReadAll(
        `SELECT s, i, big::VARCHAR AS big, n, b, d::VARCHAR AS d, epoch_us(ts)::VARCHAR AS ts, j::VARCHAR AS j FROM ${src}`,
      )
    ).getRowObjectsJson();
    expect(rows).toEqual([
      {
        s: 'héllo',
        i: '42',
        big: '9007199254740993',
        n: 1.5,
        b: true,
        d: '2026-12-05',
        ts: '1796466030123456',
        j: '{"a":[1,"x"]}',
      },
      { s: null, i: '-7', big: null, n: -0.25, b: false, d: '1969-12-31', ts: '-315619200000000', j: null },
    ]);
  });

  it('the source reads what DuckDB writes (zstd) with the expected values', async () => {
    const path = join(dir, 'duck.parquet');
    await conn.run(`COPY (
      SELECT * FROM (VALUES
        (1::INTEGER, 9007199254740993::BIGINT, 42::BIGINT, 123.45::DECIMAL(10,2), 12345678901234567.89::DECIMAL(38,2),
         TIMESTAMP '2026-12-05 10:20:30.123456', TIMESTAMP_MS '2026-12-05 10:20:30.123', TIMESTAMP_NS '2026-12-05 10:20:30.123456789',
         DATE '2026-12-05', true, 'héllo', '\\xAA\\xBB'::BLOB, [1, 2, 3], {'a': 1, 'b': 'x', 'when': DATE '2000-01-02'}, MAP {'k1': 1.5::DECIMAL(4,1), 'k2': 2}),
        (NULL, -9007199254740993::BIGINT, NULL, -0.5::DECIMAL(10,2), NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, [], NULL, NULL)
      ) AS t(i, big, small, dec, bigdec, ts, ts_ms, ts_ns, d, b, s, raw, l, st, m)
    ) TO ${lit(path)} (FORMAT parquet, COMPRESSION zstd)`);
    const r = await readSource(parquetSource, { path });
    expect(r.harness.quarantined).toEqual([]);
    expect(r.rows).toEqual([
      {
        i: 1,
        big: '9007199254740993',
        small: 42,
        dec: 123.45,
        bigdec: '12345678901234567.89',
        ts: '2026-12-05T10:20:30.123456Z',
        ts_ms: '2026-12-05T10:20:30.123Z',
        ts_ns: '2026-12-05T10:20:30.123456789Z',
        d: '2026-12-05',
        b: true,
        s: 'héllo',
        raw: 'qrs=',
        l: [1, 2, 3],
        st: { a: 1, b: 'x', when: '2000-01-02' },
        m: { k1: 1.5, k2: 2 },
      },
      {
        i: null,
        big: '-9007199254740993',
        small: null,
        dec: -0.5,
        bigdec: null,
        ts: null,
        ts_ms: null,
        ts_ns: null,
        d: null,
        b: false,
        s: null,
        raw: null,
        l: [],
        st: null,
        m: null,
      },
    ]);
  });
});
