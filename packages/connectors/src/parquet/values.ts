import type { ParquetParsers, SchemaElement, SchemaTree } from 'hyparquet';
import { setField } from '../shared/pick.ts';

/**
 * A value with no JSON form. hyparquet's parsers return it (throwing there would end the whole
 * read); `toJson` throws it, and the row holding it goes to quarantine with its message.
 */
export class Unmappable extends Error {}

/**
 * Text as UTF-8 with replacement, a leading U+FEFF kept as a character of the value (as DuckDB
 * reads it): hyparquet's own decoder drops it, and a value must not change with how its page is
 * encoded. `ignoreBOM` keeps it at TextDecoder's speed (Buffer.from + toString per value made W5 1.12x).
 */
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8Text = (b: Uint8Array): string => decoder.decode(b);
/** An integer as a row carries it: a number while a double holds it, else its digits. */
const integerJson = (v: bigint): number | string =>
  Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
const base64 = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/**
 * ISO 8601 in UTC from a count of `perSecond` units since the epoch. A Date holds milliseconds
 * only, so the fraction is written from the integer itself: micros and nanos survive.
 */
export function isoFromUnits(value: bigint, perSecond: bigint): string | Unmappable {
  let secs = value / perSecond;
  let rem = value % perSecond;
  if (rem < 0n) {
    secs -= 1n;
    rem += perSecond;
  }
  const date = new Date(Number(secs) * 1000);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 0 || date.getUTCFullYear() > 9999) {
    return new Unmappable(`timestamp ${value} (${perSecond} per second) is outside years 0000–9999`);
  }
  const digits = perSecond.toString().length - 1;
  let frac = rem.toString().padStart(digits, '0');
  // .sss always; 6 or 9 digits only when the sub-millisecond part is not zero.
  while (frac.length > 3 && frac.endsWith('000')) frac = frac.slice(0, -3);
  return `${date.toISOString().slice(0, 19)}.${frac.padEnd(3, '0')}Z`;
}

/** `YYYY-MM-DD` of a DATE (days since the epoch). */
export function dateFromDays(days: number): string | Unmappable {
  const date = new Date(days * 86_400_000);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 0 || date.getUTCFullYear() > 9999) {
    return new Unmappable(`date ${days} days from 1970-01-01 is outside years 0000–9999`);
  }
  return date.toISOString().slice(0, 10);
}

/** hyparquet's parsers, replaced where its defaults lose precision (Dates keep milliseconds only). */
export const parsers: Partial<ParquetParsers> = {
  stringFromBytes: (b) => b && utf8Text(b),
  timestampFromMilliseconds: (v) => isoFromUnits(BigInt(v), 1_000n),
  timestampFromMicroseconds: (v) => isoFromUnits(BigInt(v), 1_000_000n),
  timestampFromNanoseconds: (v) => isoFromUnits(BigInt(v), 1_000_000_000n),
  dateFromDays,
};

const isDecimal = (e: SchemaElement) => e.converted_type === 'DECIMAL' || e.logical_type?.type === 'DECIMAL';

/**
 * The schema handed to hyparquet: DECIMAL annotations removed, as hyparquet turns decimals into
 * doubles (losing digits); the raw unscaled integers come back and `toJson` scales them exactly.
 */
export function readerSchema(schema: SchemaElement[]): SchemaElement[] {
  // Not inside a VARIANT: hyparquet decodes a variant whole, its decimals scaled (see variantJson).
  const parents: { left: number; variant: boolean }[] = [];
  return schema.map((e) => {
    const parent = parents[parents.length - 1];
    const inVariant = parent?.variant === true;
    if (parent) parent.left--;
    if (e.num_children)
      parents.push({ left: e.num_children, variant: inVariant || e.logical_type?.type === 'VARIANT' });
    while (parents.length > 0 && parents[parents.length - 1]!.left === 0) parents.pop();
    if (inVariant || !isDecimal(e)) return e;
    const { converted_type: _c, logical_type: _l, ...rest } = e;
    return rest;
  });
}

/**
 * A JSON value for what hyparquet read of a column, walking the (original) schema tree; throws
 * Unmappable for a value with no JSON form.
 */
export function toJson(value: unknown, node: SchemaTree): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Unmappable) throw value;
  const e = node.element;
  if (e.logical_type?.type === 'VARIANT') return variantJson(value);
  if (node.children.length > 0) return nested(value, node);
  if (isDecimal(e)) return decimal(value, e.scale ?? 0);
  if (typeof value === 'bigint') return integerJson(value);
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw new Unmappable(`${value} has no JSON form`);
  }
  if (value instanceof Uint8Array) {
    if (e.converted_type === 'ENUM' || e.logical_type?.type === 'ENUM') return utf8Text(value);
    return base64(value);
  }
  if (value instanceof Date) return value.toISOString();
  return value;
}

/** `toJson` for one column's values; see `converter`. */
export type Convert = (value: unknown) => unknown;

/**
 * `toJson` bound to a column. A leaf that is not DECIMAL returns a string, a boolean or a finite
 * number as it is, so those are passed before `toJson`'s tests run, one after another, per cell.
 */
export function converter(node: SchemaTree): Convert {
  if (node.children.length > 0 || isDecimal(node.element)) return (v) => toJson(v, node);
  return (v) =>
    typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))
      ? v
      : toJson(v, node);
}

/**
 * A VARIANT as hyparquet decodes it (objects, arrays, numbers, bigints, strings, dates, bytes) in
 * the row conventions: integers past 2^53 as digits, bytes base64, dates ISO; NaN and ±Infinity
 * have no JSON form.
 */
function variantJson(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Unmappable) throw v;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'bigint':
      return integerJson(v);
    case 'number':
      if (Number.isFinite(v)) return v;
      throw new Unmappable(`${v} has no JSON form`);
    case 'object': {
      if (v instanceof Date) return v.toISOString();
      if (v instanceof Uint8Array) return base64(v);
      if (Array.isArray(v)) return v.map(variantJson);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) setField(out, k, variantJson(x));
      return out;
    }
    default:
      throw new Unmappable(`a ${typeof v} has no JSON form`);
  }
}

function nested(value: unknown, node: SchemaTree): unknown {
  const e = node.element;
  const kind = e.logical_type?.type ?? e.converted_type;
  if (kind === 'LIST' && Array.isArray(value)) {
    // Three-level lists (list > element) and the legacy two-level form (a repeated leaf).
    const repeated = node.children[0]!;
    const item = repeated.children.length === 1 ? repeated.children[0]! : repeated;
    return value.map((v) => toJson(v, item));
  }
  if ((kind === 'MAP' || kind === 'MAP_KEY_VALUE') && value !== null && typeof value === 'object') {
    const valueNode = node.children[0]?.children[1];
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = valueNode ? toJson(v, valueNode) : toJson(v, node);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => toJson(v, { ...node, children: [] }));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const child of node.children) {
      const name = child.element.name;
      out[name] = toJson((value as Record<string, unknown>)[name], child);
    }
    return out;
  }
  return value;
}

/** A DECIMAL's unscaled integer (INT32, INT64 or big-endian two's-complement bytes) scaled. */
export function decimal(raw: unknown, scale: number): number | string {
  const unscaled = raw instanceof Uint8Array ? fromBytes(raw) : BigInt(raw as number | bigint);
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = scale > 0 ? digits.slice(digits.length - scale).replace(/0+$/, '') : '';
  const text = `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
  const n = Number(text);
  // Exact when the double prints back as the same decimal.
  return positional(n) === text || (text === '-0' && n === 0) ? n : text;
}

/** `String(n)` without its exponent form (below 1e-6, from 1e21): `1e-7` → `0.0000001`. */
export function positional(n: number): string {
  const s = String(n);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const neg = s.startsWith('-');
  const [whole, fraction = ''] = s.slice(neg ? 1 : 0, e).split('.');
  const digits = whole! + fraction;
  const point = whole!.length + Number(s.slice(e + 1));
  const body =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return neg ? `-${body}` : body;
}

function fromBytes(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  const bits = BigInt(bytes.length * 8);
  return v >= 1n << (bits - 1n) ? v - (1n << bits) : v;
}
