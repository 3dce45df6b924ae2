import { customType } from 'drizzle-orm/pg-core';

/** ES2024's methods, in Node since 20; the project's TypeScript lib is older. */
type Es2024String = string & { isWellFormed(): boolean; toWellFormed(): string };

/**
 * PostgreSQL refuses U+0000 and lone UTF-16 surrogates (`"\ud800"`) in jsonb, so one such
 * character in an error a step read from its data, or in run parameters, would fail the write
 * that records it. They are stored as U+FFFD, the replacement character.
 */
function storable(value: unknown): unknown {
  if (typeof value === 'string') {
    const s = value as Es2024String;
    return (s.isWellFormed() ? s : s.toWellFormed()).replaceAll('\u0000', '\uFFFD');
  }
  if (Array.isArray(value)) return value.map(storable);
  if (value === null || typeof value !== 'object') return value;
  const toJSON = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof toJSON === 'function') return storable(toJSON.call(value)); // as JSON.stringify would
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[storable(k) as string] = storable(v);
  return out;
}

/** drizzle's `jsonb` column, writing strings and keys PostgreSQL accepts (see storable). */
export const jsonb = customType<{ data: unknown; driverData: string }>({
  dataType: () => 'jsonb',
  toDriver: (value) => JSON.stringify(storable(value)),
  fromDriver: (value) => {
    if (typeof value !== 'string') return value; // the driver parsed it already
    try {
      return JSON.parse(value);
    } catch {
      return value; // a jsonb string scalar the driver had parsed
    }
  },
});
