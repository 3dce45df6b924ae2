import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ErrorCode, type Issue, SluiceError } from '@sluice/core';

/**
 * The problems of `value` against `schema`, each at its JSON path under `at` (`body.data.url`,
 * `body.channels[0].to`). One issue per path: TypeBox reports a missing property twice
 * (required, then its type).
 */
export function issuesOf(schema: TSchema, value: unknown, at: string): Issue[] {
  const byPath = new Map<string, string>();
  for (const e of Value.Errors(schema, value)) {
    const path = e.path
      .split('/')
      .slice(1)
      .reduce((s, k) => (/^\d+$/.test(k) ? `${s}[${k}]` : `${s}.${k}`), at);
    if (!byPath.has(path)) byPath.set(path, e.message);
  }
  return [...byPath].map(([path, message]) => ({ path, message }));
}

/** The 400 answer for `issues`: each is listed in the error's details with its path. */
export const invalid = (what: string, issues: Issue[]) =>
  new SluiceError(
    ErrorCode.VALIDATION,
    `invalid ${what}: ${issues.map((x) => `${x.path} ${x.message}`).join('; ')}`,
    { issues },
  );
