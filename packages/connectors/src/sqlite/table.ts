import { Checksum, type Row } from '@sluice/core';
import { identList, quoteIdent } from '../postgres/ident.ts';
import type { ColumnKind } from '../shared/column-kinds.ts';
import type { Digest } from '../shared/sql-sink.ts';
import type { Database } from './db.ts';

export interface TableColumn {
  name: string;
  /** The declared type, as written in CREATE TABLE (SQLite keeps it as text; it may be empty). */
  type: string;
}

/** The table's columns in order, or undefined when no such table exists. */
export function describeTable(db: Database, table: string): TableColumn[] | undefined {
  const cols = db.prepare('SELECT name, type FROM pragma_table_info(?)').all(table) as TableColumn[];
  return cols.length === 0 ? undefined : cols;
}

/** A column whose declared type gives it BLOB affinity by name: base64 text is written as bytes there. */
export function isBlobColumn(c: TableColumn): boolean {
  return /BLOB/i.test(c.type);
}

/**
 * SQLite's types for the kinds of createTable. A column null in every row gets no declared type,
 * so it keeps whatever values come later as they are.
 */
export const SQLITE_TYPE: Record<ColumnKind, string> = {
  int: 'INTEGER',
  float: 'REAL',
  bool: 'INTEGER',
  text: 'TEXT',
  json: 'TEXT',
  timestamp: 'TEXT',
  bytes: 'BLOB',
};

export const STAGE = 'temp."sluice_stage"';

export function checkpointTableSql(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(name)} (
    key TEXT PRIMARY KEY, seq INTEGER NOT NULL, position TEXT, updated_at TEXT NOT NULL)`;
}

/**
 * Staging for upsert and content verification: the written columns with their declared types
 * (so values convert as the target converts them) and none of its constraints or triggers.
 */
export function stageSql(target: string, columns: readonly string[]): string[] {
  return [
    `DROP TABLE IF EXISTS ${STAGE}`,
    `CREATE TEMP TABLE "sluice_stage" AS SELECT ${identList(columns)} FROM main.${quoteIdent(target)} WHERE 0`,
  ];
}

/** The latest staged row of each key: a key seen twice before one commit is written once, as last given. */
function latestStaged(key: readonly string[]): string {
  return `SELECT max(rowid) FROM ${STAGE} GROUP BY ${identList(key)}`;
}

/** Moves the latest staged row of each key into the target: inserted, or updating the row of its key. */
function mergeSql(target: string, columns: readonly string[], key: readonly string[]): string {
  const cols = identList(columns);
  const updates = columns
    .filter((c) => !key.includes(c))
    .map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`);
  // `WHERE` before ON CONFLICT: without one SQLite could read ON as a join's.
  return (
    `INSERT INTO main.${quoteIdent(target)} (${cols}) SELECT ${cols} FROM ${STAGE} ` +
    `WHERE rowid IN (${latestStaged(key)}) ORDER BY rowid ON CONFLICT (${identList(key)}) ` +
    (updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING')
  );
}

/** What a flush hands over with content verification: the staged rows that reach the table. */
function handedSql(columns: readonly string[], key: readonly string[] | undefined): string {
  const from = `SELECT ${identList(columns)} FROM ${STAGE}`;
  return key === undefined ? from : `${from} WHERE rowid IN (${latestStaged(key)})`;
}

/** What the table holds of the staged keys, after the merge. */
function foundByKeySql(target: string, columns: readonly string[], key: readonly string[]): string {
  const keys = identList(key);
  return `SELECT ${identList(columns)} FROM main.${quoteIdent(target)} WHERE (${keys}) IN (SELECT ${keys} FROM ${STAGE})`;
}

/** How many rows a query yields and an order-independent checksum of them, as SQLite returns them. */
export function digest(db: Database, sql: string, params: unknown[] = []): Digest {
  const sum = new Checksum();
  let rows = 0;
  const batch: Row[] = [];
  for (const row of db
    .prepare(sql)
    .safeIntegers(true)
    .iterate(...params) as IterableIterator<Row>) {
    batch.push(row);
    rows++;
    if (batch.length === 1000) {
      sum.addRows(batch);
      batch.length = 0;
    }
  }
  sum.addRows(batch);
  return { rows, sum: BigInt(`0x${sum.toString()}`) };
}

/**
 * Moves the staged rows into the table and empties the stage: upserted by `key`, or appended in
 * the order given. Returns the rows the table took and, with `content`, the digests of what was
 * handed over and of what the table then holds of it (appended rows found by the rowids the
 * insert returned, upserted ones by key).
 */
export function mergeStage(
  db: Database,
  table: string,
  columns: readonly string[],
  key: readonly string[] | undefined,
  content: boolean,
): { written: number; handed?: Digest; found?: Digest } {
  const handed = content ? digest(db, handedSql(columns, key)) : undefined;
  let written: number;
  let found: Digest | undefined;
  if (key !== undefined) {
    written = db.prepare(mergeSql(table, columns, key)).run().changes;
    if (content) found = digest(db, foundByKeySql(table, columns, key));
  } else {
    const cols = identList(columns);
    const target = `main.${quoteIdent(table)}`;
    const ids = db
      .prepare(`INSERT INTO ${target} (${cols}) SELECT ${cols} FROM ${STAGE} ORDER BY rowid RETURNING rowid`)
      .pluck()
      .all();
    written = ids.length;
    if (content)
      found = digest(db, `SELECT ${cols} FROM ${target} WHERE rowid IN (SELECT value FROM json_each(?))`, [
        JSON.stringify(ids),
      ]);
  }
  db.exec(`DELETE FROM ${STAGE}`);
  return { written, ...(handed ? { handed } : {}), ...(found ? { found } : {}) };
}
