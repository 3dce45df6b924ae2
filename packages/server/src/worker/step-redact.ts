// A step's credentials reach its process over IPC only. Whatever leaves the process — events,
// the report, error messages, its stderr — passes through here first, so a driver that echoes a
// connection string or password into an error cannot put it in a log or the database.

export const MASK = '********';

/** Shorter values would mask ordinary words and numbers while hiding little. */
const MIN_SECRET_LENGTH = 4;

/** Every string (or number) within `secrets`, longest first so no part of one is left showing. */
export function secretValues(secrets: unknown): string[] {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') {
      const s = String(v);
      if (s.length >= MIN_SECRET_LENGTH) out.add(s);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(visit);
  };
  visit(secrets);
  return [...out].sort((a, b) => b.length - a.length);
}

function maskString(s: string, values: readonly string[]): string {
  let out = s;
  for (const v of values) if (out.includes(v)) out = out.replaceAll(v, MASK);
  return out;
}

/**
 * A function that returns its argument with every occurrence of a secret value in any string
 * within it masked. The argument is plain data (what IPC carries); it is copied only where
 * something was masked.
 */
export function redactor(secrets: unknown): <T>(value: T) => T {
  const values = secretValues(secrets);
  if (values.length === 0) return (value) => value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return maskString(v, values);
    if (Array.isArray(v)) {
      const mapped = v.map(walk);
      return mapped.some((m, i) => m !== v[i]) ? mapped : v;
    }
    if (typeof v === 'object' && v !== null) {
      let changed = false;
      const entries = Object.entries(v).map(([k, x]) => {
        const m = walk(x);
        if (m !== x) changed = true;
        return [k, m] as const;
      });
      return changed ? Object.fromEntries(entries) : v;
    }
    return v;
  };
  return <T>(value: T) => walk(value) as T;
}
