import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the step process's entry is, and how Node must load it (TypeScript sources need tsx). */
export function childEntry(): { path: string; execArgv: string[] } {
  // A built bundle named by the environment wins (the test suite builds one: see scripts/test-setup.mjs).
  const dist = process.env.SLUICE_DIST;
  if (dist) return { path: join(dist, 'step-child.mjs'), execArgv: [] };
  // From the sources, the entry is the .ts beside this file; in the CLI bundle, step-child.mjs
  // sits beside the bundle, one level above the chunk this code may be split into.
  const candidates = ['./step-child.ts', './step-child.mjs', '../step-child.mjs'].map((f) =>
    fileURLToPath(new URL(f, import.meta.url)),
  );
  const path = candidates.find((f) => existsSync(f)) ?? candidates[1]!;
  // Resolved here, not by name: the step's working directory has no node_modules to find tsx in.
  return { path, execArgv: path.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [] };
}

/** Sluice variables that configure what a step runs, not the platform: no secret among them. */
const STEP_SETTINGS = new Set(['SLUICE_CHROMIUM']);

// Variables of Sluice itself (master key, admin password) never reach a step's process.
export function stepEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (v !== undefined && (!k.startsWith('SLUICE_') || STEP_SETTINGS.has(k))) out[k] = v;
  return out;
}
