import { customType } from 'drizzle-orm/pg-core';

/**
 * PostgreSQL refuses U+0000 in jsonb (and text), so one NUL in an error message a step read from
 * its data would fail the write that records the failure. Such characters are stored as U+FFFD.
 */
function withoutNul(value: unknown): unknown {
  if (typeof value === 'string')
    return value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
  if (Array.isArray(value)) return value.map(withoutNul);
  if (value === null || typeof value !== 'object') return value;
  const toJSON = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof toJSON === 'function') return withoutNul(toJSON.call(value)); // as JSON.stringify would
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[withoutNul(k) as string] = withoutNul(v);
  return out;
}

/** drizzle's `jsonb` column, writing strings and keys without NUL characters. */
export const jsonb = customType<{ data: unknown; driverData: string }>({
  dataType: () => 'jsonb',
  toDriver: (value) => JSON.stringify(withoutNul(value)),
  fromDriver: (value) => {
    if (typeof value !== 'string') return value; // the driver parsed it already
    try {
      return JSON.parse(value);
    } catch {
      return value; // a jsonb string scalar the driver had parsed
    }
  },
});
