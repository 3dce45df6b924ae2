import type { Row } from '@sluice/core';
import type { SchemaElement } from 'hyparquet';
import type { ParquetColumnType } from './config.ts';

/** How each Sluice column type is stored. Every column is OPTIONAL: any value may be null. */
const ELEMENTS: Record<ParquetColumnType, Omit<SchemaElement, 'name'>> = {
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  integer: { type: 'INT64' },
  number: { type: 'DOUBLE' },
  boolean: { type: 'BOOLEAN' },
  date: { type: 'INT32', converted_type: 'DATE' },
  timestamp: {
    type: 'INT64',
    converted_type: 'TIMESTAMP_MICROS',
    logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
  },
  json: { type: 'BYTE_ARRAY', converted_type: 'JSON' },
};

/** The column types of a file: declared ones first, then the others as the rows show them. */
export function columnTypes(
  rows: Row[],
  declared: Record<string, ParquetColumnType> | undefined,
): [string, ParquetColumnType][] {
  const seen = new Map<string, ParquetColumnType | undefined>(Object.entries(declared ?? {}));
  const fixed = new Set(seen.keys());
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) {
      if (fixed.has(k)) continue;
      const kind = kindOf(v);
      const before = seen.get(k);
      if (!seen.has(k) || before === undefined) seen.set(k, kind);
      else if (kind !== undefined && kind !== before) {
        seen.set(
          k,
          (before === 'integer' && kind === 'number') || (before === 'number' && kind === 'integer')
            ? 'number'
            : 'json',
        );
      }
    }
  }
  // A column only ever null is kept, as text.
  return [...seen].map(([k, t]) => [k, t ?? 'string']);
}

function kindOf(v: unknown): ParquetColumnType | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'integer' : 'number';
  if (typeof v === 'string') return 'string';
  if (v instanceof Date) return 'timestamp';
  return 'json';
}

export function schemaElements(columns: [string, ParquetColumnType][]): SchemaElement[] {
  return [
    { name: 'root', num_children: columns.length },
    ...columns.map(([name, t]) => ({ name, repetition_type: 'OPTIONAL' as const, ...ELEMENTS[t] })),
  ];
}

/** The Sluice type of a column of a file this sink wrote (or one like it), for appending to it. */
export function typeOfElement(e: SchemaElement): ParquetColumnType | undefined {
  for (const [t, want] of Object.entries(ELEMENTS) as [ParquetColumnType, Omit<SchemaElement, 'name'>][]) {
    if (e.type === want.type && (e.converted_type ?? undefined) === (want.converted_type ?? undefined))
      return t;
  }
  return undefined;
}

/** Why `v` does not fit a column of type `t`, or its form for hyparquet-writer. */
export type Converted = { ok: true; value: unknown } | { ok: false; reason: string };

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/i;

export function convert(v: unknown, t: ParquetColumnType): Converted {
  if (v === null || v === undefined) return { ok: true, value: null };
  switch (t) {
    case 'string':
      return typeof v === 'string' ? { ok: true, value: v } : no(v, 'a string');
    case 'integer': {
      if (typeof v === 'number' && Number.isSafeInteger(v)) return { ok: true, value: BigInt(v) };
      // Integer strings are how big integers travel in rows (the parquet source writes them so).
      if (typeof v === 'string' && /^-?\d{1,19}$/.test(v)) {
        const b = BigInt(v);
        if (b >= INT64_MIN && b <= INT64_MAX) return { ok: true, value: b };
      }
      if (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX) return { ok: true, value: v };
      return no(v, 'an integer within 64 bits');
    }
    case 'number':
      return typeof v === 'number' ? { ok: true, value: v } : no(v, 'a number');
    case 'boolean':
      return typeof v === 'boolean' ? { ok: true, value: v } : no(v, 'a boolean');
    case 'date': {
      const m = typeof v === 'string' ? DATE.exec(v) : null;
      const ms = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!) : Number.NaN;
      if (!m || new Date(ms).toISOString().slice(0, 10) !== v) return no(v, 'a date as YYYY-MM-DD');
      return { ok: true, value: ms / 86_400_000 };
    }
    case 'timestamp':
      return timestampMicros(v);
    case 'json':
      return { ok: true, value: v };
  }
}

function timestampMicros(v: unknown): Converted {
  if (v instanceof Date && !Number.isNaN(v.getTime()))
    return { ok: true, value: BigInt(v.getTime()) * 1000n };
  const m = typeof v === 'string' ? TIMESTAMP.exec(v) : null;
  if (!m) return no(v, 'an ISO 8601 timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM])');
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!);
  const check = new Date(ms);
  if (check.getUTCDate() !== +d! || check.getUTCHours() !== +h! || check.getUTCMinutes() !== +mi!) {
    return no(v, 'a valid date and time');
  }
  if (/[1-9]/.test(frac.slice(6))) return no(v, 'a timestamp in microseconds (it has nanoseconds)');
  let offset = 0;
  if (zone.toUpperCase() !== 'Z') {
    const z = /([+-])(\d{2}):?(\d{2})/.exec(zone)!;
    offset = (z[1] === '-' ? -1 : 1) * (+z[2]! * 60 + +z[3]!) * 60_000;
  }
  const micros = BigInt(ms - offset) * 1000n + BigInt(frac.slice(0, 6).padEnd(6, '0'));
  return { ok: true, value: micros };
}

function no(v: unknown, want: string): Converted {
  const shown =
    typeof v === 'string'
      ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
      : typeof v === 'object'
        ? Array.isArray(v)
          ? 'an array'
          : 'an object'
        : String(v);
  return { ok: false, reason: `${shown} is not ${want}` };
}
