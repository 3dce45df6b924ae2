import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, FatalError } from '@sluice/core';
import type { Browser, BrowserServer } from 'playwright-core';
import { DEFAULTS } from './config.ts';

/** The flags Sluice runs Chromium with everywhere (the UI tests too): no sandbox in containers. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
];

const LIMITS = {
  /** A graceful close that takes longer is given up for a kill. */
  closeMs: 3000,
  /** How long to wait for Chromium's processes to be gone after the kill. */
  goneMs: 5000,
} as const satisfies Record<string, number>;

export interface RunningBrowser {
  browser: Browser;
  /** The browser's main process id, also its process group's. */
  pid: number;
  /** Chromium's live processes: its group, and what left the group but uses its profile. */
  processes(): Promise<number[]>;
  /**
   * Closes the browser and makes sure none of its processes is left; idempotent. `force` skips
   * the graceful close (a cancelled step).
   */
  stop(force?: boolean): Promise<void>;
}

/** Which Chromium to run: the machine's SLUICE_CHROMIUM, else the config's, else Debian's. */
export function chromiumPath(configured: string | undefined, env = process.env): string {
  return env.SLUICE_CHROMIUM || configured || DEFAULTS.executablePath;
}

/**
 * Starts Chromium through a browser server, whose process we can reach (a launched Browser does not
 * expose it): when a close hangs the whole process group is killed. Playwright starts Chromium in a
 * process group of its own and with `--user-data-dir` of its own, which finds what left the group.
 */
export async function launchChromium(opts: {
  executablePath: string;
  headless: boolean;
  where: string;
}): Promise<RunningBrowser> {
  if (!existsSync(opts.executablePath))
    throw new FatalError(
      `${opts.where}: Chromium is not at ${opts.executablePath}: install it (Debian: apt-get install chromium) ` +
        'or set `executablePath` in the step, or SLUICE_CHROMIUM on the machine that runs it',
      { code: ErrorCode.NOT_FOUND },
    );
  // Loaded on first use: playwright-core takes ~0.6 s to import, which every step process and
  // `sluice run` paid at start whether or not it ran a browser.
  const { chromium } = await import('playwright-core');
  const server = await chromium.launchServer({
    executablePath: opts.executablePath,
    headless: opts.headless,
    args: opts.headless ? CHROMIUM_ARGS : CHROMIUM_ARGS.filter((a) => a !== '--headless'),
    // The step's process (the CLI, the platform's step child) decides what its signals do.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    // Only this process may drive the browser.
    host: '127.0.0.1',
  });
  const child = server.process();
  const pid = child.pid!;
  const profile = child.spawnargs.find((a) => a.startsWith('--user-data-dir='));
  let browser: Browser;
  try {
    browser = await chromium.connect(server.wsEndpoint());
  } catch (err) {
    await kill(server, pid, profile);
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = (force = false) => {
    stopping ??= (async () => {
      if (!force) {
        const closed = Promise.all([browser.close(), server.close()]).then(
          () => true,
          () => false,
        );
        if (await Promise.race([closed, sleep(LIMITS.closeMs, false)])) {
          if ((await leftovers(pid, profile)).length === 0) return;
        }
      }
      await kill(server, pid, profile);
    })();
    return stopping;
  };
  return { browser, pid, stop, processes: () => leftovers(pid, profile) };
}

/** Kills the browser's process group, and anything that left it but still uses its profile. */
async function kill(server: BrowserServer, pgid: number, profile: string | undefined): Promise<void> {
  await Promise.race([server.kill().catch(() => undefined), sleep(LIMITS.closeMs)]);
  const deadline = Date.now() + LIMITS.goneMs;
  for (;;) {
    const left = await leftovers(pgid, profile);
    if (left.length === 0 || Date.now() > deadline) return;
    for (const p of [-pgid, ...left]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // ESRCH: gone meanwhile.
      }
    }
    await sleep(50);
  }
}

/**
 * The live processes (not zombies: those only wait for their parent) in group `pgid` or whose
 * command line holds `marker`. Without /proc (macOS) only the group is known, by signal 0.
 */
export async function leftovers(pgid: number, marker: string | undefined): Promise<number[]> {
  const ids = await readdir('/proc').catch(() => undefined);
  if (ids === undefined) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const out: number[] = [];
  await Promise.all(
    ids
      .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
      .map(async (d) => {
        const stat = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
        // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after the last ')'.
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (state === undefined || state === 'Z' || state === 'X') return;
        if (Number(pgrp) === pgid) return void out.push(Number(d));
        if (marker === undefined) return;
        const cmd = await readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '');
        if (cmd.includes(marker)) out.push(Number(d));
      }),
  );
  return out;
}
