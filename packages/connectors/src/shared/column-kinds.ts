import type { Row } from '@sluice/core';

/** What a column must hold, judged from JavaScript values; each SQL engine names its own type for it. */
export type ColumnKind = 'int' | 'float' | 'bool' | 'text' | 'json' | 'timestamp' | 'bytes';

// Integers beyond int8 go in as floats: no SQL engine's integer column takes them.
const INT8_MAX = 2 ** 63;

function kindOf(v: unknown): ColumnKind | undefined {
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) && Math.abs(v) < INT8_MAX ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'boolean':
      return 'bool';
    case 'string':
      return 'text';
    case 'object':
      if (v === null) return undefined;
      if (v instanceof Date) return 'timestamp';
      if (v instanceof Uint8Array) return 'bytes';
      return 'json';
    default:
      return undefined;
  }
}

function merge(a: ColumnKind | undefined, b: ColumnKind | undefined): ColumnKind | undefined {
  if (a === undefined || a === b) return b;
  if (b === undefined) return a;
  if ((a === 'int' && b === 'float') || (a === 'float' && b === 'int')) return 'float';
  // Mixed kinds (numbers and strings, say): text takes any of them without a failed insert.
  return 'text';
}

/**
 * The kind of each of `columns`, inferred from every value in `rows`; undefined for a column
 * that is null (or absent) in every row.
 */
export function inferColumnKinds(
  rows: readonly Row[],
  columns: readonly string[],
): (ColumnKind | undefined)[] {
  return columns.map((c) => {
    let kind: ColumnKind | undefined;
    for (const row of rows) {
      kind = merge(kind, kindOf(row[c]));
      if (kind === 'text') break;
    }
    return kind;
  });
}

/** Every field of `rows`, in the order they first appear. */
export function fieldsOf(rows: readonly Row[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) seen.add(k);
  return [...seen];
}
