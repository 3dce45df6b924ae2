// DuckDB peer for both workloads: read the CSV, filter and map in SQL, write the result.
// W1 writes CSV for `psql \copy` (run and timed by the harness); W2 writes NDJSON.
// Runs as its own process so its memory is measured apart from the harness.
// Usage: node duckdb.mjs <w1|w2> <input.csv> <output>
import { DuckDBInstance } from '@duckdb/node-api';

const [workload, input, output] = process.argv.slice(2);
const lit = (s) => `'${s.replaceAll("'", "''")}'`;

// Explicit columns: sniffing is skipped and created_at passes through as text, as in the other runners.
const columns = `{
  'id': 'BIGINT', 'uuid': 'VARCHAR', 'name': 'VARCHAR', 'email': 'VARCHAR', 'country': 'VARCHAR',
  'amount': 'DECIMAL(12,2)', 'quantity': 'INTEGER', 'created_at': 'VARCHAR', 'active': 'BOOLEAN', 'notes': 'VARCHAR'
}`;
const select = `
  SELECT id, uuid, name, email, upper(country) AS country, amount, quantity, created_at, active, notes,
         amount * quantity AS total
  FROM read_csv(${lit(input)}, header = true, delim = ',', quote = '"', escape = '"', columns = ${columns})
  WHERE active`;
const format = { w1: '(FORMAT csv, HEADER true)', w2: '(FORMAT json)' }[workload];
if (!format) throw new Error(`unknown workload ${workload}: expected w1 or w2`);

const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
await conn.run(`COPY (${select}) TO ${lit(output)} ${format}`);
conn.closeSync();
