#!/usr/bin/env node
// Starts the CLI from its bundle (built on `npm install`) when the bundle is newer than every
// source file; otherwise from the TypeScript sources through tsx, so an edit is never ignored.
import { readdirSync, statSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bundle = join(root, 'cli/dist/sluice.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    // Not join(): normalising every path was most of this walk's ~20 ms at each start (measured);
    // `dir` is already normal and an entry's name holds no separator.
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  try {
    const built = statSync(bundle).mtimeMs;
    return ['core', 'connectors', 'server', 'cli'].every((p) => newestSource(join(root, p, 'src')) <= built);
  } catch {
    return false;
  }
}

// Node 22.1 and newer keep the compiled bundle on disk (in the OS's temporary directory, or
// NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1 turns it off): measured on Node 22 with
// farm-bench (medians of pairs): `sluice --version` in 0.88× the time, a 1,000-row `sluice run` in
// 0.94×. Node 20 has no such call; a cache that cannot be written is skipped, not an error.
module.enableCompileCache?.();

if (process.env.SLUICE_FROM_SOURCE !== '1' && bundleIsFresh()) {
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
