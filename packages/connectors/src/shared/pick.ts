import type { Row } from '@sluice/core';

/** Copies a row's values of `columns`, in order, into `into`. */
export type Pick = (row: Row, into: unknown[]) => void;

/**
 * A pick for `columns` with one property read per column written out, so that each read site
 * sees one name (and, rows sharing a hidden class, one shape): `row[columns[c]]` in a loop is one
 * site for every name, and its megamorphic lookups were ~20% of the COPY encoder's time (measured).
 */
export function compilePick(columns: readonly string[]): Pick {
  const body = columns.map((c, i) => `v[${i}] = r[${JSON.stringify(c)}];`).join('\n');
  return new Function('r', 'v', body) as Pick;
}

// `__proto__: x` in a literal would set the prototype; the computed form defines a property.
/** `name` as a property key in generated object-literal code. */
export function literalKey(name: string): string {
  return name === '__proto__' ? '["__proto__"]' : JSON.stringify(name);
}

/** Makes a row of `columns` from their values in order. */
export type BuildRow = (values: readonly unknown[]) => Row;

/**
 * A row builder for `columns`: one object literal, so every row it makes shares one hidden class
 * (assigning the fields one by one in a loop goes through one megamorphic store site).
 */
export function compileBuildRow(columns: readonly string[]): BuildRow {
  const props = columns.map((c, i) => `${literalKey(c)}: v[${i}]`).join(', ');
  return new Function('v', `return { ${props} };`) as BuildRow;
}

/** Sets field `name` of `o`, `__proto__` included (assigning that one would set the prototype). */
export function setField(o: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__')
    Object.defineProperty(o, name, { value, enumerable: true, writable: true, configurable: true });
  else o[name] = value;
}

/**
 * A shallow copy of a row, its SOURCE_LINE symbol included: Object.assign (the fastest), unless
 * the row has an own `__proto__` field (a JSON source keeps one), which it would turn into the
 * copy's prototype; spreading defines it as a field.
 */
export function copyRow(row: Row): Row {
  return Object.hasOwn(row, '__proto__') ? { ...row } : Object.assign({}, row);
}
