import { resolve } from 'node:path';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { Location, LocationEntry } from './types.ts';
import { plainPath, schemeOf } from './url.ts';

const GLOB_CHAR = /[*?[{]/;

/** Whether `path` names many files (`*`, `?`, `[…]`, `{a,b}`) rather than one. */
export function isGlob(path: string): boolean {
  return GLOB_CHAR.test(path);
}

/**
 * The files `path` names, sorted by address: the one file, or every file a glob matches. The
 * listing starts at the glob's fixed part (`s3://bucket/in/` for `s3://bucket/in/2026-*\/*.csv`),
 * so a store is asked only for keys that could match. A glob that matches nothing is an error:
 * a run that silently read no file would look like an empty one.
 */
export async function matchFiles(
  location: Location,
  path: string,
  opts: { baseDir: string; signal: AbortSignal; where: string },
): Promise<LocationEntry[]> {
  if (!isGlob(path)) return [await location.stat(path, opts.signal)];
  const full = schemeOf(path) === 'file' ? resolve(opts.baseDir, plainPath(path)) : path;
  const fixed = full.slice(0, full.search(GLOB_CHAR));
  const prefix = fixed.slice(0, fixed.lastIndexOf('/') + 1);
  // Loaded for a glob only, not with every command.
  const { default: picomatch } = await import('picomatch');
  const matches = picomatch(full.slice(prefix.length), { dot: false });
  const found: LocationEntry[] = [];
  for await (const e of location.list(prefix, opts.signal)) {
    if (e.url.startsWith(prefix) && matches(e.url.slice(prefix.length))) found.push(e);
  }
  if (found.length === 0) {
    throw new SluiceError(ErrorCode.NOT_FOUND, `${opts.where}: no file matches ${path} (listed ${prefix})`);
  }
  return found.sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
}
