import type { Row } from '@sluice/core';
import { type ColumnKind, inferColumnKinds } from '../shared/column-kinds.ts';
import type { TypeLadder } from '../shared/schema-contract.ts';
import type { MyConnection } from './conn.ts';
import { idList, quoteId } from './ident.ts';

export interface TableColumn {
  name: string;
  /**
   * The type as the schema contract sees it: `int`, `bigint`, `varchar(20)` for the types a value
   * may outgrow (signed whole numbers, varchar), else information_schema's COLUMN_TYPE.
   */
  type: string;
  /** information_schema's DATA_TYPE: `datetime`, `blob`, `json`… (how values are written). */
  dataType: string;
  nullable: boolean;
}

const INTS = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);

/** The table's columns in order, or undefined when it does not exist in the session's database. */
export async function describeTable(c: MyConnection, table: string): Promise<TableColumn[] | undefined> {
  const rows = await c.query<
    { name: string; dt: string; ct: string; len: number | null; nullable: string }[]
  >(
    `SELECT COLUMN_NAME AS name, DATA_TYPE AS dt, COLUMN_TYPE AS ct, CHARACTER_MAXIMUM_LENGTH AS len,
            IS_NULLABLE AS nullable
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
      ORDER BY ORDINAL_POSITION`,
    [table],
  );
  if (rows.length === 0) return undefined;
  return rows.map((r) => {
    const dt = r.dt.toLowerCase();
    const ct = r.ct.toLowerCase();
    const type = INTS.has(dt) && !ct.includes('unsigned') ? dt : dt === 'varchar' ? `varchar(${r.len})` : ct;
    return { name: r.name, type, dataType: dt, nullable: r.nullable === 'YES' };
  });
}

/** The primary key's columns, in key order; empty when the table has none. */
export async function primaryKeyColumns(c: MyConnection, table: string): Promise<string[]> {
  const rows = await c.query<{ name: string }[]>(
    `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
      ORDER BY ORDINAL_POSITION`,
    [table],
  );
  return rows.map((r) => r.name);
}

const VARCHAR = /^varchar\((\d+)\)$/;

/** MySQL's types a value may outgrow (signed whole numbers, varchar(n)) and what they widen to. */
export const MY_LADDER: TypeLadder = {
  ints: [
    { type: 'tinyint', max: 2 ** 7 },
    { type: 'smallint', max: 2 ** 15 },
    { type: 'mediumint', max: 2 ** 23 },
    { type: 'int', max: 2 ** 31 },
    { type: 'bigint', max: 2 ** 63 },
  ],
  numeric: 'decimal(65,30)',
  varchar(type) {
    const m = VARCHAR.exec(type);
    return m ? Number(m[1]) : undefined;
  },
  text: 'longtext',
};

const SQL_TYPE: Record<ColumnKind, string> = {
  int: 'bigint',
  float: 'double',
  bool: 'boolean',
  text: 'longtext',
  json: 'json',
  timestamp: 'datetime(6)',
  bytes: 'longblob',
};

/** MySQL types for `columns`, inferred from every value in `rows` (all nulls → longtext). */
export function inferColumnTypes(rows: readonly Row[], columns: readonly string[]): string[] {
  return inferColumnKinds(rows, columns).map((kind) => SQL_TYPE[kind ?? 'text']);
}

export function createTableSql(
  table: string,
  columns: readonly string[],
  types: readonly string[],
  primaryKey?: readonly string[],
): string {
  // A key column cannot be an unbounded text: text keys get varchar(255) (1020 bytes in utf8mb4).
  const defs = columns.map((c, i) => {
    const keyed = primaryKey?.includes(c) === true;
    const type = keyed && (types[i] === 'longtext' || types[i] === 'json') ? 'varchar(255)' : types[i];
    return `${quoteId(c)} ${type}${keyed ? ' NOT NULL' : ''}`;
  });
  if (primaryKey && primaryKey.length > 0) defs.push(`PRIMARY KEY (${idList(primaryKey)})`);
  return `CREATE TABLE IF NOT EXISTS ${quoteId(table)} (${defs.join(', ')}) DEFAULT CHARSET = utf8mb4`;
}

export function addColumnSql(table: string, column: string, type: string): string {
  return `ALTER TABLE ${quoteId(table)} ADD COLUMN ${quoteId(column)} ${type}`;
}

/** MODIFY restates the column: its NULL-ability is kept; a default or comment it had is not. */
export function widenColumnSql(table: string, column: string, type: string, nullable = true): string {
  return `ALTER TABLE ${quoteId(table)} MODIFY COLUMN ${quoteId(column)} ${type}${nullable ? '' : ' NOT NULL'}`;
}

export function checkpointTableSql(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${quoteId(table)} (
    k VARCHAR(512) NOT NULL PRIMARY KEY, seq BIGINT NOT NULL, position LONGTEXT,
    updated_at DATETIME(6) NOT NULL) DEFAULT CHARSET = utf8mb4`;
}

/**
 * A staging table for upsert and content verification: the written columns with the target's
 * types but none of its keys or defaults, and `sluice_ord` keeping arrival order. TEMPORARY, so
 * it neither commits the open transaction (other DDL does, in MySQL) nor outlives the session.
 */
export function stageSql(stage: string, target: string, columns: readonly string[]): string {
  return (
    `CREATE TEMPORARY TABLE ${quoteId(stage)} (sluice_ord BIGINT AUTO_INCREMENT PRIMARY KEY) ` +
    `SELECT ${idList(columns)} FROM ${quoteId(target)} LIMIT 0`
  );
}

/**
 * How many rows `from` yields and the sum of a 64-bit hash of each (the first 16 hex digits of
 * the md5 of its values, each marked null or not, separated by 0x1F): a staged row and the row the
 * table stored hash alike exactly when the table holds what was staged, as both have its types.
 */
export function rowDigestSql(from: string, columns: readonly string[]): string {
  const values = columns.map((c) => `IFNULL(CONCAT('v', r.${quoteId(c)}), 'n')`).join(', ');
  return (
    `SELECT COUNT(*) AS n, CAST(COALESCE(SUM(CAST(CONV(LEFT(MD5(CONCAT_WS(X'1F', ${values})), 16), 16, 10) ` +
    `AS DECIMAL(20,0))), 0) AS CHAR) AS s FROM (${from}) r`
  );
}
