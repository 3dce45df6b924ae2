import type { Row } from '@sluice/core';

/** What a SQL sink makes of a JS value when it creates or adds a column for it. */
export type ColumnKind = 'int' | 'float' | 'bool' | 'text' | 'json' | 'timestamp' | 'bytes';

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
  // Mixed kinds (numbers and strings, say): text takes any of them without a failed load.
  return 'text';
}

/** SQL types for `columns`, inferred from every value in `rows` (all nulls → text), in a database's names. */
export function inferColumnTypes(
  rows: readonly Row[],
  columns: readonly string[],
  sqlType: Readonly<Record<ColumnKind, string>>,
): string[] {
  return columns.map((c) => {
    let kind: ColumnKind | undefined;
    for (const row of rows) {
      kind = merge(kind, kindOf(row[c]));
      if (kind === 'text') break;
    }
    return sqlType[kind ?? 'text'];
  });
}
