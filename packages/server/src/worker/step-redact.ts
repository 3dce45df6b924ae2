// A step's credentials reach its process over IPC only. Whatever leaves the process — events,
// the report, error messages, its stderr — passes through here first, so a driver that echoes a
// connection string or password into an error cannot put it in a log or the database. The
// server's own directories are shown relative to the files root, or by name: job errors are
// read by viewers, who have no business knowing where the server keeps its data.

import { sep } from 'node:path';

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

/** An absolute directory of the server, shown as `as` (a relative path; '' for the files root). */
export interface PathAlias {
  path: string;
  as: string;
}

type Replacement = [from: string | RegExp, to: string];

function maskString(s: string, replacements: readonly Replacement[]): string {
  let out = s;
  for (const [from, to] of replacements)
    if (typeof from !== 'string') out = out.replace(from, to);
    else if (out.includes(from)) out = out.replaceAll(from, to);
  return out;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function replacements(secrets: unknown, aliases: readonly PathAlias[]): Replacement[] {
  const out: Replacement[] = secretValues(secrets).map((v) => [v, MASK]);
  // Deepest directories first, so a workspace inside the data directory keeps its own name.
  for (const { path, as } of [...aliases].sort((a, b) => b.path.length - a.path.length)) {
    if (!path || path === sep) continue;
    out.push([path + sep, as ? as + sep : '']);
    // The directory itself, not a longer name it begins (/srv/files, not /srv/files2).
    out.push([new RegExp(`${escapeRegExp(path)}(?![\\w.-])`, 'g'), as || '.']);
  }
  return out;
}

/**
 * A function that returns its argument with every occurrence of a secret value in any string
 * within it masked, and the `aliases` directories shown by their names. The argument is plain
 * data (what IPC carries); it is copied only where something was replaced.
 */
export function redactor(secrets: unknown, aliases: readonly PathAlias[] = []): <T>(value: T) => T {
  const values = replacements(secrets, aliases);
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
