import type { Row } from '@sluice/core';
import type pg from 'pg';
import { type ColumnKind, inferColumnTypes as inferKinds } from '../shared/column-kind.ts';
import { identList, quoteIdent } from './ident.ts';

export interface TableColumn {
  name: string;
  /** The type as PostgreSQL's format_type spells it: `integer`, `character varying(20)`. */
  type: string;
  /** A PostgreSQL array type: JS arrays are sent as array literals rather than JSON. */
  isArray: boolean;
}

/** The table's columns in order, or undefined when no such table exists. */
export async function describeTable(
  client: pg.Client,
  qualifiedName: string,
): Promise<TableColumn[] | undefined> {
  const res = await client.query<{ name: string; type: string; is_array: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typcategory = 'A' AS is_array
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [qualifiedName],
  );
  return res.rows.length === 0
    ? undefined
    : res.rows.map((r) => ({ name: r.name, type: r.type, isArray: r.is_array }));
}

export async function schemaExists(client: pg.Client, schema: string): Promise<boolean> {
  const res = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  return res.rows.length > 0;
}

const SQL_TYPE: Record<ColumnKind, string> = {
  int: 'bigint',
  float: 'double precision',
  bool: 'boolean',
  text: 'text',
  json: 'jsonb',
  timestamp: 'timestamptz',
  bytes: 'bytea',
};

/** PostgreSQL types for `columns`, inferred from every value in `rows` (all nulls → text). */
export function inferColumnTypes(rows: readonly Row[], columns: readonly string[]): string[] {
  return inferKinds(rows, columns, SQL_TYPE);
}

export function createTableSql(
  qualifiedName: string,
  columns: readonly string[],
  types: readonly string[],
  primaryKey?: readonly string[],
): string {
  const defs = columns.map((c, i) => `${quoteIdent(c)} ${types[i]}`);
  if (primaryKey && primaryKey.length > 0) defs.push(`PRIMARY KEY (${identList(primaryKey)})`);
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName} (${defs.join(', ')})`;
}

/** Adds a column; IF NOT EXISTS, as another sink may have added it since the table was read. */
export function addColumnSql(qualifiedName: string, column: string, type: string): string {
  return `ALTER TABLE ${qualifiedName} ADD COLUMN IF NOT EXISTS ${quoteIdent(column)} ${type}`;
}

/** Widens a column's type; every value of the old type converts (see contract.ts). */
export function widenColumnSql(qualifiedName: string, column: string, type: string): string {
  return `ALTER TABLE ${qualifiedName} ALTER COLUMN ${quoteIdent(column)} TYPE ${type}`;
}

export const CHECKPOINT_TABLE = 'checkpoints';

export function checkpointTableSql(qualifiedName: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName} (
    key text PRIMARY KEY, seq bigint NOT NULL, position jsonb, updated_at timestamptz NOT NULL DEFAULT now())`;
}

/**
 * Staging for upsert: the written columns with no constraints or defaults, so rows land as
 * given and the merge applies the target's rules; `sluice$ord` keeps arrival order.
 */
export function stageSql(stage: string, target: string, columns: readonly string[]): string[] {
  return [
    `CREATE TEMP TABLE IF NOT EXISTS ${stage} AS SELECT ${identList(columns)} FROM ${target} WITH NO DATA`,
    `ALTER TABLE ${stage} ADD COLUMN "sluice$ord" bigserial`,
  ];
}

/**
 * Moves staged rows into the target by key. ON CONFLICT cannot touch one row twice in a
 * statement, so repeated keys are collapsed first, keeping the row that arrived last.
 */
export function mergeSql(
  target: string,
  stage: string,
  columns: readonly string[],
  key: readonly string[],
): string {
  const keys = identList(key);
  const cols = identList(columns);
  const updates = columns
    .filter((c) => !key.includes(c))
    .map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`);
  return (
    `INSERT INTO ${target} (${cols}) SELECT ${cols} FROM (SELECT DISTINCT ON (${keys}) * FROM ${stage} ` +
    `ORDER BY ${keys}, "sluice$ord" DESC) s ON CONFLICT (${keys}) ` +
    (updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING')
  );
}

/**
 * How many rows `from` (a query over the target or its staging) yields and the sum of a 64-bit
 * hash of each, as text: the md5 of the row of `columns` in PostgreSQL's text form, so a row
 * staged and the row the table stored hash alike exactly when the table holds what was staged.
 */
export function rowDigestSql(from: string, columns: readonly string[]): string {
  const row = columns.map((c) => `r.${quoteIdent(c)}`).join(', ');
  return (
    `SELECT count(*)::text AS rows, coalesce(sum(('x' || left(md5(ROW(${row})::text), 16))::bit(64)::bigint::numeric), 0)::text AS sum ` +
    `FROM (${from}) r`
  );
}
