// What test helpers with a shared connection do when a test file ends. Integration files share one
// module graph per worker (vitest.config.ts: `isolate: false`), so a helper's module runs once per
// worker, not once per file: a hook at its top level would close its connection after the first
// file only. The suite's setup file (scripts/test-file-setup.ts) runs these after every file.

const tasks: (() => Promise<void>)[] = [];

/** Runs `fn` once, when the current test file's tests have ended. */
export function atFileEnd(fn: () => Promise<void>): void {
  tasks.push(fn);
}

/** Runs and forgets what the file's helpers asked for, in order; one failing does not stop the rest. */
export async function runFileEnd(): Promise<void> {
  const errors: unknown[] = [];
  for (const t of tasks.splice(0)) await t().catch((e: unknown) => errors.push(e));
  if (errors.length > 0) throw new AggregateError(errors, 'cleaning up after the test file failed');
}
