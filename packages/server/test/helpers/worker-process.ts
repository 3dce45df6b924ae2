import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Platform } from '../../src/platform.ts';

const bin = join(import.meta.dirname, '../../../cli/bin/sluice.js');

/**
 * Starts `sluice worker` as its own process against the platform's PostgreSQL server, with its
 * master key (every job's plan is sealed with it); resolves once it takes jobs.
 */
export async function spawnWorker(
  p: Pick<Platform, 'database' | 'masterKey'> & { filesDir: string },
  extra: string[] = [],
  /** Added to the worker's environment (the bench's transaction counter preloads itself this way). */
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; id: string; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-worker-'));
  const child = spawn(
    process.execPath,
    [
      bin,
      'worker',
      '--database-url',
      p.database.url!,
      '--data-dir',
      dataDir,
      '--files-dir',
      p.filesDir,
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env, SLUICE_MASTER_KEY: p.masterKey } },
  );
  // A test that fails or times out must not leave a worker running on: it dies with the test.
  process.once('exit', () => child.kill('SIGKILL'));
  const id = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sluice worker exited with code ${code}`)));
    child.stdout!.on('data', (d) => {
      const m = /worker (\S+) is taking jobs/.exec(String(d));
      if (m) resolve(m[1]!);
    });
  });
  return {
    child,
    id,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
