// DuckDB peer for the workloads: read the input, filter and map in SQL, write the result.
// W1 writes CSV for `psql \copy` (run and timed by the harness); W2 writes NDJSON; W3 aggregates
// into NDJSON; W5 reads and
// writes Parquet. Runs as its own process so its memory is measured apart from the harness.
// Two helpers for the harness, not timed: `parquet` writes W5's input (the CSV typed as the specs
// type it), `count` prints a Parquet file's rows.
// Usage: node duckdb.mjs <w1|w2|w3|w5|parquet> <input> <output> | node duckdb.mjs count <file.parquet>
import { DuckDBInstance } from '@duckdb/node-api';

const [workload, input, output] = process.argv.slice(2);
const lit = (s) => `'${s.replaceAll("'", "''")}'`;

// Explicit columns: sniffing is skipped and created_at passes through as text, as in the other runners.
const columns = (amount) => `{
  'id': 'BIGINT', 'uuid': 'VARCHAR', 'name': 'VARCHAR', 'email': 'VARCHAR', 'country': 'VARCHAR',
  'amount': '${amount}', 'quantity': 'INTEGER', 'created_at': 'VARCHAR', 'active': 'BOOLEAN', 'notes': 'VARCHAR'
}`;
const csv = (amount) =>
  `read_csv(${lit(input)}, header = true, delim = ',', quote = '"', escape = '"', columns = ${columns(amount)})`;
const select = (from) => `
  SELECT id, uuid, name, email, upper(country) AS country, amount, quantity, created_at, active, notes,
         amount * quantity AS total
  FROM ${from}
  WHERE active`;

const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
switch (workload) {
  case 'w1':
    await conn.run(`COPY (${select(csv('DECIMAL(12,2)'))}) TO ${lit(output)} (FORMAT csv, HEADER true)`);
    break;
  case 'w2':
    await conn.run(`COPY (${select(csv('DECIMAL(12,2)'))}) TO ${lit(output)} (FORMAT json)`);
    break;
  case 'w3':
    // The same query as the W3 spec, on the CSV typed as the spec types it.
    await conn.run(
      `COPY (SELECT country, count(*) AS orders, sum(amount) AS amount FROM ${csv('DOUBLE')}
        GROUP BY country ORDER BY country) TO ${lit(output)} (FORMAT json)`,
    );
    break;
  case 'w5':
    await conn.run(`COPY (${select(`read_parquet(${lit(input)})`)}) TO ${lit(output)} (FORMAT parquet)`);
    break;
  case 'parquet':
    // amount as DOUBLE: the type Sluice's `number` gives it, so both sides compute `total` alike.
    await conn.run(`COPY (SELECT * FROM ${csv('DOUBLE')}) TO ${lit(output)} (FORMAT parquet)`);
    break;
  case 'count': {
    const reader = await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${lit(input)})`);
    process.stdout.write(`${reader.getRows()[0][0]}\n`);
    break;
  }
  default:
    throw new Error(`unknown workload ${workload}: expected w1, w2, w3, w5, parquet or count`);
}
conn.closeSync();
