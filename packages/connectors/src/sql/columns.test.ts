import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referencedColumns } from './columns.ts';

let db: DuckDBInstance;
let conn: DuckDBConnection;
beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:');
  conn = await db.connect();
});
afterAll(() => {
  conn?.closeSync();
  db?.closeSync();
});

const cols = async (q: string) => {
  const s = await referencedColumns(conn, q);
  return s === undefined ? 'all' : [...s].sort();
};

describe('referencedColumns', () => {
  it('lists the names a query uses, anywhere in it', async () => {
    expect(await cols('SELECT country, count(*), sum(Amount) FROM input GROUP BY country')).toEqual([
      'amount',
      'country',
    ]);
    expect(
      await cols(`WITH t AS (SELECT o.id, o.meta FROM input o WHERE o.day > '2026')
        SELECT id, meta->>'$.a' FROM t JOIN x USING (code) QUALIFY row_number() OVER (ORDER BY ts) = 1`),
    ).toEqual(['code', 'day', 'id', 'meta', 'o', 'ts']);
  });

  it('means every column when the query reads columns it does not name', async () => {
    for (const q of [
      'SELECT * FROM input',
      'SELECT input.* EXCLUDE (a) FROM input',
      "SELECT COLUMNS('a.*') FROM input",
      'SELECT #1 FROM input',
      'SELECT t FROM input t',
      'SELECT input FROM input',
      'SELECT a FROM input NATURAL JOIN other',
      'SELECT a FROM input AS t(a, b)',
      'SELECT * FROM (PIVOT input ON country USING sum(amount))',
      "SELECT a FROM query_table('input')",
      'FROM input',
    ])
      expect([q, await cols(q)]).toEqual([q, 'all']);
  });
});
