import type { Row } from '@sluice/core';

/** What the sink does with a field the table has no column for, or a value its column's type cannot hold. */
export const CONTRACTS = ['evolve', 'freeze', 'discard_row', 'discard_value'] as const;
export type SchemaContract = (typeof CONTRACTS)[number];

export function isContract(v: unknown): v is SchemaContract {
  return (CONTRACTS as readonly unknown[]).includes(v);
}

/** One column of the target as the checks see it: `type` as the database spells it. */
export interface ColumnType {
  name: string;
  type: string;
}

/**
 * The types of one database that a value may outgrow, and what they widen to: its whole-number
 * types, narrowest first, each with the first value it cannot hold; the exact type that holds
 * any number; how it spells varchar(n), and the text type that holds any string.
 */
export interface TypeLadder {
  ints: readonly { type: string; max: number }[];
  /** Holds any whole number and any finite fraction (numeric, decimal(65,30)). */
  numeric: string;
  /** The length n of a varchar(n) type, undefined for other types. */
  varchar(type: string): number | undefined;
  /** What a varchar(n) widens to. */
  text: string;
}

/**
 * A column whose type a value may outgrow: whole-number types (widened up the ladder to numeric)
 * and varchar(n) (widened to text). Other types are left to the database, as they were: numeric
 * to text, say, would change how every reader sorts and sums the column, so it is never done.
 */
export type Limit = { kind: 'int'; rung: number } | { kind: 'varchar'; length: number };

export function limitOf(ladder: TypeLadder, type: string): Limit | undefined {
  const rung = ladder.ints.findIndex((i) => i.type === type);
  if (rung >= 0) return { kind: 'int', rung };
  const length = ladder.varchar(type);
  return length !== undefined ? { kind: 'varchar', length } : undefined;
}

/** Whole-number text: an optional sign and digits only (what JSON, CSV and most sources send). */
function isDigits(s: string): boolean {
  const n = s.length;
  let i = s.charCodeAt(0) === 0x2d || s.charCodeAt(0) === 0x2b ? 1 : 0;
  if (i === n) return false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Digits any value of a whole-number type can have (4 for smallint's 32767): fewer need no parsing. */
const safeDigits = (max: number): number => String(max - 1).length - 1;

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Index of the narrowest whole-number type holding `v`, the ladder's length (numeric) when none does. */
function intRung(ints: TypeLadder['ints'], v: number | bigint): number {
  for (let r = 0; r < ints.length; r++) {
    const max = ints[r]!.max;
    if (typeof v === 'bigint' ? v >= -BigInt(max) && v < BigInt(max) : v >= -max && v < max) return r;
  }
  return ints.length;
}

/**
 * The type `v` needs in a column of `limit`, or undefined when the column holds it as it is.
 * Values that are no number at all (a word in an integer column) are left to the database, which
 * refuses them as it always did: widening is for values that outgrow a type, not for wrong ones.
 */
export function neededType(ladder: TypeLadder, limit: Limit, v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (limit.kind === 'varchar') {
    const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
    // varchar(n) counts characters; UTF-16 units are at least as many, so most values stop here.
    if (s === undefined || s.length <= limit.length) return undefined;
    let chars = 0;
    for (const _ of s) chars++;
    return chars > limit.length ? ladder.text : undefined;
  }
  const ints = ladder.ints;
  let rung: number;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    rung = Number.isInteger(v) ? intRung(ints, v) : ints.length;
  } else if (typeof v === 'bigint') {
    rung = intRung(ints, v);
  } else if (typeof v === 'string') {
    const s = v.trim();
    if (isDigits(s)) {
      // Digits that fit the column whatever they are need no parsing (measured: BigInt() of every
      // id doubled the check's time); others are parsed exactly, beyond a double's precision.
      const digits = s.charCodeAt(0) <= 0x2d ? s.length - 1 : s.length;
      if (digits <= safeDigits(ints[limit.rung]!.max)) return undefined;
      rung = intRung(ints, BigInt(s));
    } else if (DECIMAL.test(s)) rung = ints.length;
    else return undefined;
  } else return undefined;
  if (rung <= limit.rung) return undefined;
  return rung < ints.length ? ints[rung]!.type : ladder.numeric;
}

/** The wider of two types a column was found to need (both from `neededType`). */
export function widest(ladder: TypeLadder, a: string | undefined, b: string): string {
  if (a === undefined) return b;
  const n = ladder.ints.length;
  const rank = (t: string) =>
    t === ladder.text ? n + 1 : t === ladder.numeric ? n : ladder.ints.findIndex((i) => i.type === t);
  return rank(b) > rank(a) ? b : a;
}

/**
 * `row => every limited column's value fits`, with one property read per column written out:
 * `row[name]` in a loop is one megamorphic site for every name (see compilePick in tab-text.ts).
 */
function compileValueCheck(
  ladder: TypeLadder,
  limited: readonly { name: string; limit: Limit }[],
): (row: Row) => boolean {
  if (limited.length === 0) return () => true;
  const body = limited
    .map((l, i) => `if (need(limits[${i}], row[${JSON.stringify(l.name)}]) !== undefined) return false;`)
    .join('\n');
  return new Function('need', 'limits', `return (row) => {\n${body}\nreturn true;\n}`)(
    (limit: Limit, v: unknown) => neededType(ladder, limit, v),
    limited.map((l) => l.limit),
  ) as (row: Row) => boolean;
}

/** What a batch needs of the table before it can be written (see `Fit.scan`). */
export interface Findings {
  /** Fields with no column in the table, each with the rows that have a value for it. */
  newFields: Map<string, number[]>;
  /** Columns of the table the batch has values for that are not being written yet. */
  unwritten: string[];
  /** Columns whose type a value outgrew: the type needed and the rows with such values. */
  widen: Map<string, { type: string; rows: number[] }>;
}

/**
 * Checks rows against the table's columns: fields it has no column for and values its columns'
 * types cannot hold. Pure, so that the worker threads' encoder uses it too.
 */
export class Fit {
  readonly #ladder: TypeLadder;
  readonly #table: Map<string, Limit | undefined>;
  readonly #written: Set<string>;
  /** Configured `columns`: other fields are not written, so they are never new. */
  readonly #only: Set<string> | undefined;
  readonly #limited: { name: string; limit: Limit }[];
  /** A key order seen with every key written: rows with it need no look-up per key. */
  #order: string[] | undefined;
  readonly #values: (row: Row) => boolean;

  constructor(
    ladder: TypeLadder,
    table: readonly ColumnType[],
    written: readonly string[],
    only?: readonly string[],
  ) {
    this.#ladder = ladder;
    this.#table = new Map(table.map((c) => [c.name, limitOf(ladder, c.type)]));
    this.#written = new Set(written);
    this.#only = only ? new Set(only) : undefined;
    this.#limited = written.flatMap((name) => {
      const limit = this.#table.get(name);
      return limit ? [{ name, limit }] : [];
    });
    this.#values = compileValueCheck(ladder, this.#limited);
  }

  /**
   * True when every row can be written as it is: each field written, each value fits. The fast
   * path, run on every batch (measured on 500k rows of 8 fields: ~35 ms, encoding them ~200 ms).
   */
  fits(rows: readonly Row[]): boolean {
    const values = this.#values;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      if (!this.#keysFit(row) || !values(row)) return false;
    }
    return true;
  }

  #keysFit(row: Row): boolean {
    const order = this.#order;
    if (order !== undefined) {
      // Rows of one source mostly share their keys' order: names compared by identity.
      let i = 0;
      let same = true;
      for (const k in row) {
        if (k !== order[i++]) {
          same = false;
          break;
        }
      }
      if (same && i === order.length) return true;
    }
    let all = true;
    for (const k in row) {
      if (this.#written.has(k) || (this.#only !== undefined && !this.#only.has(k))) continue;
      all = false;
      if (row[k] !== undefined && row[k] !== null) return false;
    }
    if (all && order === undefined) this.#order = Object.keys(row);
    return true;
  }

  /** What `rows` need, row by row, or undefined when they need nothing. */
  scan(rows: readonly Row[]): Findings | undefined {
    let found: Findings | undefined;
    const need = (): Findings => {
      found ??= { newFields: new Map(), unwritten: [], widen: new Map() };
      return found;
    };
    const written = this.#written;
    const only = this.#only;
    const limited = this.#limited;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      for (const k in row) {
        if (written.has(k) || (only !== undefined && !only.has(k))) continue;
        // A field whose value is missing writes nothing, so it asks for no column.
        if (row[k] === undefined || row[k] === null) continue;
        const f = need();
        if (this.#table.has(k)) {
          if (!f.unwritten.includes(k)) f.unwritten.push(k);
        } else {
          const at = f.newFields.get(k);
          if (at) at.push(r);
          else f.newFields.set(k, [r]);
        }
      }
      for (let c = 0; c < limited.length; c++) {
        const { name, limit } = limited[c]!;
        const type = neededType(this.#ladder, limit, row[name]);
        if (type === undefined) continue;
        const f = need();
        const w = f.widen.get(name);
        if (w) {
          w.type = widest(this.#ladder, w.type, type);
          w.rows.push(r);
        } else f.widen.set(name, { type, rows: [r] });
      }
    }
    return found;
  }
}
