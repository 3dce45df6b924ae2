import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { WorkerModule } from '@sluice/core';

type Located = ReturnType<WorkerModule['resolve']>;

// Looked up on first use, not on import: most runs never start a thread.
let located: { at: Located } | undefined;

/** The worker thread module that serves the built-in connectors (`../worker.ts`). */
export const builtinWorker: WorkerModule = {
  resolve() {
    located ??= { at: locate() };
    return located.at;
  },
};

function locate(): Located {
  // A built bundle named by the environment wins (the test suite builds one: see scripts/test-setup.mjs).
  const dist = process.env.SLUICE_DIST;
  if (dist) return { url: pathToFileURL(join(dist, 'flow-worker.mjs')) };
  // From the sources, the entry is worker.ts beside the package's index; in the CLI bundle,
  // flow-worker.mjs sits beside the bundle, one level above the chunk this code may be split into.
  const candidates = ['../worker.ts', './flow-worker.mjs', '../flow-worker.mjs'].map(
    (f) => new URL(f, import.meta.url),
  );
  const url = candidates.find((u) => existsSync(fileURLToPath(u)));
  if (url === undefined) return undefined;
  // Resolved here, not in the worker: a step's working directory has no node_modules to find tsx in.
  return url.pathname.endsWith('.ts') ? { url, register: import.meta.resolve('tsx/esm/api') } : { url };
}
