import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import type { QuarantineEntry, Row } from '@sluice/core';
import { quoteIdent } from '../postgres/ident.ts';
import { foldCase } from './columns.ts';
import { duckdb } from './duckdb.ts';

/**
 * The DuckDB types a column of `input` can have. Rows are schemaless, so a column's type is the
 * narrowest that holds every value seen so far, widened (ALTER TABLE) when a later batch needs it:
 * BIGINT → DOUBLE for a fraction, → HUGEINT for a bigint beyond 64 bits, and anything mixed
 * (a number and a string, a boolean and an object) → VARCHAR, values then loaded as their text.
 */
export type ColumnType = 'BOOLEAN' | 'BIGINT' | 'HUGEINT' | 'DOUBLE' | 'VARCHAR' | 'JSON' | 'TIMESTAMPTZ';

/** What a value needs; `null` fits any column. */
type Kind = ColumnType | null;

interface Column {
  readonly name: string;
  type: ColumnType;
  /** No value but null seen yet: the column was made VARCHAR and takes any type without a cast. */
  untyped: boolean;
}

const MIN_HUGE = -(2n ** 127n);
const MAX_HUGE = 2n ** 127n - 1n;
const MIN_BIG = -(2n ** 63n);
const MAX_BIG = 2n ** 63n - 1n;

/** Why `v` cannot be loaded, as a sentence; undefined when it can. */
class Unloadable {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

function kindOf(v: unknown): Kind | Unloadable {
  switch (typeof v) {
    case 'undefined':
      return null;
    case 'boolean':
      return 'BOOLEAN';
    case 'number':
      // Integers DuckDB's BIGINT holds exactly; -0 and fractions (and NaN, ±Infinity) are DOUBLE.
      return Number.isSafeInteger(v) && !Object.is(v, -0) ? 'BIGINT' : 'DOUBLE';
    case 'bigint':
      if (v >= MIN_BIG && v <= MAX_BIG) return 'BIGINT';
      if (v >= MIN_HUGE && v <= MAX_HUGE) return 'HUGEINT';
      return new Unloadable(`integer ${v} is outside DuckDB's HUGEINT range (±2^127)`);
    case 'string':
      return 'VARCHAR';
    case 'object':
      if (v === null) return null;
      if (v instanceof Date)
        return Number.isNaN(v.getTime()) ? new Unloadable('an invalid Date') : 'TIMESTAMPTZ';
      return 'JSON';
    default:
      return new Unloadable(`a ${typeof v} has no SQL value`);
  }
}

/** The type a column of `a` becomes to also hold `b`. */
function widen(a: ColumnType, b: ColumnType): ColumnType {
  if (a === b) return a;
  const pair = (x: ColumnType, y: ColumnType) => (a === x && b === y) || (a === y && b === x);
  if (pair('BIGINT', 'DOUBLE') || pair('HUGEINT', 'DOUBLE')) return 'DOUBLE';
  if (pair('BIGINT', 'HUGEINT')) return 'HUGEINT';
  return 'VARCHAR';
}

/**
 * Whether a value of kind `k` goes into `col` as the column is: a null, or a kind the column's type
 * already holds (an integer in a DOUBLE column). A column with no value yet is typed by its first.
 */
function fits(col: Column, k: Kind): boolean {
  return k === null || (!col.untyped && widen(col.type, k) === col.type);
}

/** JSON text of a row value; a bigint inside is written as its digits in a string, as rows carry them. */
const json = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

/**
 * The text a value of another type takes in a VARCHAR column: JavaScript's (String, toISOString,
 * JSON). Values loaded before the column became VARCHAR are rewritten to the same text (see
 * InputTable's #retext), so a value's text never depends on where a batch ended.
 */
function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return json(v);
  return String(v);
}

type Append = (a: DuckDBAppender, v: unknown) => void;

/** How a non-null value goes into a column of each type (values already fit it, see widen). */
const APPEND: Record<ColumnType, Append> = {
  BOOLEAN: (a, v) => a.appendBoolean(v as boolean),
  // A double into a BIGINT column is cast by DuckDB; safe integers come back exact, and no bigint
  // is made per value (BigInt() per cell cost a third of the load, measured).
  BIGINT: (a, v) => (typeof v === 'bigint' ? a.appendBigInt(v) : a.appendDouble(v as number)),
  HUGEINT: (a, v) => (typeof v === 'bigint' ? a.appendHugeInt(v) : a.appendDouble(v as number)),
  DOUBLE: (a, v) => a.appendDouble(Number(v)),
  VARCHAR: (a, v) => a.appendVarchar(asText(v)),
  JSON: (a, v) => a.appendVarchar(json(v)),
  // As microseconds: the text form stops at year 9999, and a Date goes to ±275760.
  TIMESTAMPTZ: (a, v) =>
    a.appendTimestampTZ(new duckdb.DuckDBTimestampTZValue(BigInt((v as Date).getTime()) * 1000n)),
};

/**
 * The table `input` in DuckDB, filled batch by batch with DuckDB's appender (row by row: in
 * bench/sql-load.ts, 1M rows of 10 fields loaded in 2.5 s, against 3.8 s through data chunks built
 * column-wise, 8.6 s through NDJSON and read_json, 11.6 s through Parquet written by
 * hyparquet-writer). Columns come from the fields of the rows, in the order first seen.
 */
export class InputTable {
  readonly #conn: DuckDBConnection;
  readonly #table: string;
  readonly #quarantine: (entry: QuarantineEntry) => void;
  readonly #columns: Column[] = [];
  /** Lower-cased name → column: DuckDB's identifiers ignore case, Sluice's fields do not. */
  readonly #byName = new Map<string, Column>();
  #appender: DuckDBAppender | undefined;
  #created = false;
  /** The table holds only the placeholder column PLACEHOLDER (no field seen yet). */
  #emptyMarker = false;
  /** Field → its lower-cased name, or null when the query does not read it: computed once per name. */
  readonly #keys = new Map<string, string | null>();
  #rows = 0;
  /** The fields of the last row planned the long way, in order, and each one's column (null: not loaded). */
  #shape: string[] = [];
  #shapeCols: (Column | null)[] = [];

  /** Lower-cased names of the fields to load; undefined: all (see referencedColumns). */
  readonly #only: Set<string> | undefined;

  constructor(
    conn: DuckDBConnection,
    table: string,
    quarantine: (entry: QuarantineEntry) => void,
    only?: Set<string>,
  ) {
    this.#conn = conn;
    this.#table = table;
    this.#quarantine = quarantine;
    this.#only = only;
  }

  /** Rows appended so far. */
  get rows(): number {
    return this.#rows;
  }

  /** The placeholder column's name while the table has no other (results leave it out). */
  get placeholder(): string | undefined {
    return this.#emptyMarker ? PLACEHOLDER : undefined;
  }

  /** Appends `rows`, first adding or widening the columns they need; rows that cannot go in are quarantined. */
  async append(rows: readonly Row[]): Promise<void> {
    const bad = new Set<number>();
    const changes = this.#plan(rows, bad);
    if (changes.length > 0 || !this.#created) await this.#alter(changes);
    const appender = this.#appender!;
    const cols = this.#columns;
    const names = cols.map((c) => c.name);
    const appends = cols.map((c) => APPEND[c.type]);
    for (let i = 0; i < rows.length; i++) {
      if (bad.has(i)) continue;
      const row = rows[i]!;
      if (this.#emptyMarker) appender.appendNull();
      for (let j = 0; j < names.length; j++) {
        const v = row[names[j]!];
        if (v === undefined || v === null) appender.appendNull();
        else appends[j]!(appender, v);
      }
      appender.endRow();
    }
    this.#rows += rows.length - bad.size;
  }

  /** Makes every appended row visible to queries. Ends the table's loading; call once, after the last `append`. */
  async end(): Promise<void> {
    if (!this.#created) await this.#alter([]);
    this.#appender?.closeSync();
    this.#appender = undefined;
  }

  /**
   * The columns to add or retype for `rows`, applied to this.#columns' bookkeeping already; the rows
   * that cannot be loaded go into `bad` (and to quarantine) and count for nothing.
   */
  #plan(rows: readonly Row[], bad: Set<number>): Change[] {
    const changes = new Map<Column, Change>();
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      if (this.#fitsShape(row)) continue;
      // First whether the row can go in at all, then (allocating nothing per row) its columns.
      const reason = this.#refusal(row);
      if (reason !== undefined) {
        bad.add(i);
        this.#quarantine({ reason, row });
        continue;
      }
      for (const field in row) {
        const key = this.#keyOf(field);
        if (key === null) continue;
        const k = kindOf(row[field]) as Kind;
        let col = this.#byName.get(key);
        if (col === undefined) {
          col = { name: field, type: k ?? 'VARCHAR', untyped: k === null };
          this.#columns.push(col);
          this.#byName.set(key, col);
          changes.set(col, { column: col, add: true });
          continue;
        }
        if (fits(col, k)) continue;
        const type = col.untyped ? k! : widen(col.type, k!);
        const untyped = col.untyped;
        col.untyped = false;
        if (type === col.type) continue;
        // A column of nulls only holds no text to rewrite, whatever its type.
        if (!changes.has(col)) changes.set(col, { column: col, add: false, from: untyped ? null : col.type });
        col.type = type;
      }
      this.#learnShape(row);
    }
    return [...changes.values()];
  }

  /**
   * Whether `row` has the fields of the last row planned the long way, in the same order, and
   * every value it loads fits its column as it is: then nothing is to check or change. The rows
   * of a source share their fields, so a field's column is found by position, not by name (the
   * name lookups of the long way were a tenth of W3's run).
   */
  #fitsShape(row: Row): boolean {
    const shape = this.#shape;
    const cols = this.#shapeCols;
    let j = 0;
    for (const field in row) {
      if (field !== shape[j]) return false;
      const col = cols[j++];
      if (col === null) continue;
      const k = kindOf(row[field]);
      if (k instanceof Unloadable || !fits(col!, k)) return false;
    }
    return j === shape.length;
  }

  /** Remembers the fields of `row` (planned and loadable) and their columns, for #fitsShape. */
  #learnShape(row: Row): void {
    this.#shape = Object.keys(row);
    this.#shapeCols = this.#shape.map((f) => {
      const key = this.#keyOf(f);
      return key === null ? null : (this.#byName.get(key) ?? null);
    });
  }

  #keyOf(field: string): string | null {
    let key = this.#keys.get(field);
    if (key === undefined) {
      const lower = foldCase(field);
      key = this.#only === undefined || this.#only.has(lower) ? lower : null;
      this.#keys.set(field, key);
    }
    return key;
  }

  /** Why `row` cannot be loaded, or undefined when it can. */
  #refusal(row: Row): string | undefined {
    for (const field in row) {
      const key = this.#keyOf(field);
      if (key === null) continue;
      if (field.includes('\0'))
        return `field name ${JSON.stringify(field)} holds a NUL character, which DuckDB names cannot`;
      if (field === '')
        return 'a field has an empty name, which DuckDB columns cannot have; rename it before the sql transform (map)';
      if (key === PLACEHOLDER_KEY)
        return `field name ${JSON.stringify(field)} is the one the sql transform gives its placeholder column; rename it (map)`;
      const k = kindOf(row[field]);
      if (k instanceof Unloadable)
        return `field ${JSON.stringify(field)} cannot be loaded into DuckDB: ${k.reason}`;
      // Against the column of that name, or (a new field, rarely) the row's other fields.
      let other = this.#byName.get(key)?.name;
      if (other === undefined)
        for (const f of Object.keys(row)) if (f !== field && this.#keyOf(f) === key) other = f;
      if (other !== undefined && other !== field)
        return (
          `fields ${JSON.stringify(other)} and ${JSON.stringify(field)} differ only in case, and ` +
          'DuckDB column names ignore case; rename one before the sql transform (map)'
        );
    }
    return undefined;
  }

  /** Applies column changes: DDL cannot run while an appender holds the table, so it is closed and reopened. */
  async #alter(changes: Change[]): Promise<void> {
    this.#appender?.closeSync();
    this.#appender = undefined;
    const t = quoteIdent(this.#table);
    if (!this.#created) {
      const defs = this.#columns.map((c) => `${quoteIdent(c.name)} ${c.type}`);
      // A table needs a column: rows without fields (or no rows at all) get a placeholder.
      this.#emptyMarker = defs.length === 0;
      await this.#conn.run(
        `CREATE TABLE ${t} (${this.#emptyMarker ? `${quoteIdent(PLACEHOLDER)} BOOLEAN` : defs.join(', ')})`,
      );
      this.#created = true;
    } else {
      for (const { column, add, from } of changes) {
        const c = quoteIdent(column.name);
        if (add) await this.#conn.run(`ALTER TABLE ${t} ADD COLUMN ${c} ${column.type}`);
        else if (column.type === 'VARCHAR' && (from === 'DOUBLE' || from === 'TIMESTAMPTZ'))
          await this.#retext(column.name, from);
        else await this.#conn.run(`ALTER TABLE ${t} ALTER ${c} TYPE ${column.type}`);
      }
      // Dropped once a real column exists: a table cannot lose its last column.
      if (this.#emptyMarker && this.#columns.length > 0) {
        await this.#conn.run(`ALTER TABLE ${t} DROP COLUMN ${quoteIdent(PLACEHOLDER)}`);
        this.#emptyMarker = false;
      }
    }
    this.#appender = await this.#conn.createAppender(this.#table);
  }

  /**
   * Makes a DOUBLE or TIMESTAMPTZ column VARCHAR with the text asText gives values appended from
   * now on (`2`, `NaN`, `2026-01-03T10:00:00.000Z`), not DuckDB's cast (`2.0`, `nan`, `2026-01-03
   * 10:00:00+00` in the session's time zone): otherwise a GROUP BY would count `2` and `2.0` apart,
   * depending on which batch brought the first string. The texts are made here and joined back by
   * rowid; a column becomes VARCHAR once at most, so this runs once per column.
   */
  async #retext(name: string, from: 'DOUBLE' | 'TIMESTAMPTZ'): Promise<void> {
    const t = quoteIdent(this.#table);
    const c = quoteIdent(name);
    const tmp = quoteIdent(RETEXT);
    const values = (
      await this.#conn.runAndReadAll(`SELECT rowid, ${c} FROM ${t} WHERE ${c} IS NOT NULL`)
    ).getRows();
    await this.#conn.run(`CREATE TABLE ${tmp} (rid BIGINT, txt VARCHAR)`);
    const a = await this.#conn.createAppender(RETEXT);
    for (const [rid, v] of values) {
      a.appendBigInt(rid as bigint);
      a.appendVarchar(
        from === 'DOUBLE'
          ? String(v)
          : new Date(Number((v as { micros: bigint }).micros / 1000n)).toISOString(),
      );
      a.endRow();
    }
    a.closeSync();
    await this.#conn.run(`ALTER TABLE ${t} ADD COLUMN ${tmp} VARCHAR`);
    await this.#conn.run(`UPDATE ${t} SET ${tmp} = r.txt FROM ${tmp} r WHERE ${t}.rowid = r.rid`);
    await this.#conn.run(`ALTER TABLE ${t} ALTER ${c} TYPE VARCHAR USING ${tmp}`);
    await this.#conn.run(`ALTER TABLE ${t} DROP COLUMN ${tmp}`);
    await this.#conn.run(`DROP TABLE ${tmp}`);
  }
}

/** A column to add, or to retype from `from` (null: it held nulls only). */
interface Change {
  column: Column;
  add: boolean;
  from?: ColumnType | null;
}

/** The column a table with no field yet holds: a table needs one. */
const PLACEHOLDER = '#sluice: no field yet';
const PLACEHOLDER_KEY = foldCase(PLACEHOLDER);
/** Where #retext keeps the texts it makes (a table and a column of that name, dropped after). */
const RETEXT = '#sluice: retext';
