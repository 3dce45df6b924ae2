import { ChildProcess } from 'node:child_process';
import { createRequire, syncBuiltinESMExports } from 'node:module';

// A step process that is kept for the next step must not keep what the last one started. Finding
// that means scanning /proc (milliseconds), so the step process notes whether a step started any
// process at all and the scan runs only then. Every asynchronous API (spawn, exec, execFile, fork)
// goes through ChildProcess#spawn; the synchronous ones are wrapped on the module itself.
let started = false;

export function watchSpawns(): void {
  const proto = ChildProcess.prototype as unknown as { spawn: (...a: unknown[]) => unknown };
  const spawn = proto.spawn;
  proto.spawn = function (this: unknown, ...args: unknown[]) {
    started = true;
    return spawn.apply(this, args);
  };
  const cp = createRequire(import.meta.url)('node:child_process') as Record<string, unknown>;
  for (const name of ['spawnSync', 'execSync', 'execFileSync']) {
    const f = cp[name] as (...a: unknown[]) => unknown;
    cp[name] = (...args: unknown[]) => {
      started = true;
      return f(...args);
    };
  }
  syncBuiltinESMExports();
}

/** Whether a process was started since the last call. */
export function takeSpawned(): boolean {
  const was = started;
  started = false;
  return was;
}
