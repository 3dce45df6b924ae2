import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, FatalError } from '@sluice/core';

/**
 * PGlite has no data-directory lock: two processes on one directory corrupt it. The lock is a
 * file created exclusively, holding the owner's pid and host; a lock whose process is gone (on
 * this host) is stale and taken over.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'sluice.lock');
  const me = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(JSON.stringify(me));
      await fh.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readOwner(path);
    if (owner && owner.host === me.host && !alive(owner.pid)) {
      await rm(path, { force: true });
      continue;
    }
    const who = owner ? `process ${owner.pid} on ${owner.host} (since ${owner.since})` : 'another process';
    throw new FatalError(
      `the data directory ${dir} is in use by ${who}; stop that process, or give this one another ` +
        `--data-dir (or a PostgreSQL server with --database-url to run several processes)`,
      { code: ErrorCode.CONFIG },
    );
  }
  throw new FatalError(`could not take the lock ${path}`, { code: ErrorCode.INTERNAL });
}

async function readOwner(path: string): Promise<{ pid: number; host: string; since: string } | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
