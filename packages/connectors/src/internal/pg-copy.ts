import type { Row } from '@sluice/core';

/** A value PostgreSQL cannot take; the row goes to quarantine with this reason. */
export class CopyValueError extends Error {
  override name = 'CopyValueError';
}

export interface RejectedRow {
  /** Index of the row in the batch. */
  index: number;
  reason: string;
}

export interface EncodedBatch {
  /** COPY text format: one line per row, fields separated by tabs. */
  text: string;
  /** Rows encoded into `text`. */
  rows: number;
  rejected: RejectedRow[];
}

// Without the g flag `test` keeps no lastIndex state, so one regex serves every call.
const SPECIAL = /[\\\n\r\t\0]/;
const ESCAPES = /[\\\n\r\t]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const QUOTED = /["\\]/g;

function escapeText(s: string): string {
  // Most strings need no escaping: one regex scan, and the string itself goes out.
  if (!SPECIAL.test(s)) return s;
  if (s.includes('\0'))
    throw new CopyValueError('contains a NUL character (U+0000), which PostgreSQL cannot store');
  return s.replace(ESCAPES, (c) => ESCAPED[c]!);
}

function isoDate(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new CopyValueError('is an invalid Date');
  return d.toISOString();
}

function numberText(n: number): string {
  if (Number.isFinite(n)) return String(n);
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
}

/** The text of a scalar before COPY escaping. */
function scalarText(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return numberText(v);
    case 'boolean':
      return v ? 't' : 'f';
    case 'bigint':
      return v.toString();
    case 'object':
      if (v instanceof Date) return isoDate(v);
      if (v instanceof Uint8Array)
        return `\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
      return JSON.stringify(v);
    default:
      throw new CopyValueError(`is a ${typeof v}, which has no PostgreSQL representation`);
  }
}

/** `{"a","b",NULL}`: PostgreSQL's array literal, every element quoted so commas and braces are safe. */
export function arrayLiteral(a: readonly unknown[]): string {
  let s = '{';
  for (let i = 0; i < a.length; i++) {
    if (i > 0) s += ',';
    const v = a[i];
    if (v === null || v === undefined) s += 'NULL';
    else if (Array.isArray(v)) s += arrayLiteral(v);
    else s += `"${scalarText(v).replace(QUOTED, '\\$&')}"`;
  }
  return `${s}}`;
}

/**
 * One field in COPY text format. Objects and arrays become JSON (for json/jsonb columns) unless
 * the column is a PostgreSQL array, where a JS array becomes an array literal.
 */
export function copyField(v: unknown, arrayColumn: boolean): string {
  switch (typeof v) {
    case 'string':
      return escapeText(v);
    case 'number':
      return numberText(v);
    case 'boolean':
      return v ? 't' : 'f';
    case 'undefined':
      return '\\N';
    case 'bigint':
      return v.toString();
    case 'object':
      if (v === null) return '\\N';
      if (v instanceof Date) return isoDate(v);
      if (v instanceof Uint8Array) return `\\${scalarText(v)}`;
      if (arrayColumn && Array.isArray(v)) return escapeText(arrayLiteral(v));
      return escapeText(JSON.stringify(v));
    default:
      throw new CopyValueError(`is a ${typeof v}, which has no PostgreSQL representation`);
  }
}

/**
 * Encodes rows `from`..`to` as one string of COPY text, so a batch reaches the socket in one
 * write. Rows with a value PostgreSQL cannot store are left out and listed in `rejected`:
 * COPY is all-or-nothing, so one bad value would otherwise fail the whole transaction.
 */
export function encodeCopyText(
  rows: readonly Row[],
  columns: readonly string[],
  arrayColumns: readonly boolean[] = [],
  from = 0,
  to = rows.length,
): EncodedBatch {
  try {
    return { text: encodeAll(rows, columns, arrayColumns, from, to), rows: to - from, rejected: [] };
  } catch (err) {
    if (!(err instanceof CopyValueError)) throw err;
    return encodeRowByRow(rows, columns, arrayColumns, from, to);
  }
}

// Appending straight to one string (no per-row line) measured ~30% faster on 500k rows; a bad
// value is rare, so when one appears the batch is redone row by row to leave that row out.
function encodeAll(
  rows: readonly Row[],
  columns: readonly string[],
  arrayColumns: readonly boolean[],
  from: number,
  to: number,
): string {
  const n = columns.length;
  const first = columns[0]!;
  const firstArray = arrayColumns[0] === true;
  let text = '';
  for (let r = from; r < to; r++) {
    const row = rows[r]!;
    text += copyField(row[first], firstArray);
    for (let c = 1; c < n; c++) {
      text += '\t';
      text += copyField(row[columns[c]!], arrayColumns[c] === true);
    }
    text += '\n';
  }
  return text;
}

function encodeRowByRow(
  rows: readonly Row[],
  columns: readonly string[],
  arrayColumns: readonly boolean[],
  from: number,
  to: number,
): EncodedBatch {
  const rejected: RejectedRow[] = [];
  let text = '';
  for (let r = from; r < to; r++) {
    const row = rows[r]!;
    let c = 0;
    try {
      let line = copyField(row[columns[0]!], arrayColumns[0] === true);
      for (c = 1; c < columns.length; c++)
        line += `\t${copyField(row[columns[c]!], arrayColumns[c] === true)}`;
      text += `${line}\n`;
    } catch (err) {
      if (!(err instanceof CopyValueError)) throw err;
      rejected.push({ index: r, reason: `field "${columns[c]}" ${err.message}` });
    }
  }
  return { text, rows: to - from - rejected.length, rejected };
}
