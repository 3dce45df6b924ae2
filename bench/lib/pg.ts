/**
 * PostgreSQL set-up and checks for the benchmark, all through `psql` so that nothing here is
 * shared with (or cached by) the runners being timed.
 */
import { spawnSync } from 'node:child_process';

export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
export const SCHEMA = 'bench';

/** Every W1 runner loads into a table of this shape, recreated before each repetition. */
const TABLE_COLUMNS = `id bigint, uuid uuid, name text, email text, country text, amount numeric(12,2),
  quantity integer, created_at timestamptz, active boolean, notes text, total numeric`;

export function sql(query: string): string {
  const r = spawnSync('psql', [DATABASE_URL, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', query], {
    encoding: 'utf8',
  });
  if (r.error)
    throw new Error(`could not run psql (is the PostgreSQL client installed?): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`psql failed on ${JSON.stringify(query.slice(0, 200))}:\n${r.stderr}`);
  return r.stdout.trim();
}

/**
 * Drops and creates `bench.<table>`, then checkpoints so that one runner's dirty pages are not
 * flushed during the next runner's timing.
 */
export function recreateTable(table: string): void {
  sql(`SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS ${SCHEMA};
    DROP TABLE IF EXISTS ${SCHEMA}.${table}; CREATE TABLE ${SCHEMA}.${table} (${TABLE_COLUMNS})`);
  sql('CHECKPOINT');
}

export function tableStats(table: string): { rows: number; quantitySum: number } {
  const [rows, quantitySum] = sql(
    `SELECT count(*), coalesce(sum(quantity), 0) FROM ${SCHEMA}.${table}`,
  ).split('|');
  return { rows: Number(rows), quantitySum: Number(quantitySum) };
}

/** The arguments for `psql` to load a CSV file with a header row into `bench.<table>`. */
export function copyArgs(table: string, csvPath: string): string[] {
  const file = csvPath.replaceAll("'", "''");
  return [
    DATABASE_URL,
    '-X',
    '-v',
    'ON_ERROR_STOP=1',
    '-c',
    `\\copy ${SCHEMA}.${table} FROM '${file}' WITH (FORMAT csv, HEADER true)`,
  ];
}

export function serverVersion(): string {
  return sql('SHOW server_version');
}
