import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const SLUICE = join(ROOT, 'packages', 'cli', 'bin', 'sluice.js');

/** The examples `npm start` seeds (package.json "start"), resolved against the repository. */
export const START_EXAMPLES = ['orders', 'branches', 'sql-report', 'portal-report'].map((n) =>
  join(ROOT, 'examples', `${n}.yaml`),
);

export interface IdleCase {
  /** What the table calls it. */
  label: string;
  /** A data directory to reuse (a restart); a fresh one when absent (the first start). */
  dataDir?: string;
  /** `--example` specs; their files resolve in examples/, as with `npm start`. */
  examples?: string[];
}

export interface IdleSample {
  /** Seconds after the server first answered /ready. */
  at: number;
  /** VmRSS of the server and its descendants (step processes, companions' children), MB. */
  rssMb: number;
  /** Their proportional set size (smaps_rollup Pss): shared pages split between processes, MB. */
  pssMb: number;
  processes: number;
}

export interface IdleResult {
  label: string;
  /** From spawn to the first 200 from /ready, ms. */
  readyMs: number;
  samples: IdleSample[];
  /** The data directory used, for a restart on it. */
  dataDir: string;
}

const kb = (text: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);

/** The process and every descendant of it that is still alive. */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone since the listing
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++)
    for (const [pid, ppid] of parents) if (ppid === tree[i] && !tree.includes(pid)) tree.push(pid);
  return tree;
}

function sample(pid: number, at: number): IdleSample {
  let rss = 0;
  let pss = 0;
  let processes = 0;
  for (const p of processTree(pid)) {
    try {
      rss += kb(readFileSync(`/proc/${p}/status`, 'utf8'), 'VmRSS');
      pss += kb(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'), 'Pss');
      processes++;
    } catch {
      // exited between the listing and the read
    }
  }
  return { at, rssMb: rss / 1000, pssMb: pss / 1000, processes };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilReady(child: ChildProcess, output: () => string, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  let url: string | undefined;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`sluice serve exited ${child.exitCode}:\n${output()}`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the colours of the start message
    url ??= /running at (https?:\/\/\S+)/.exec(output().replace(/\x1b\[[0-9;]*m/g, ''))?.[1];
    if (url) {
      const ok = await fetch(`${url}/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
    }
    await sleep(100);
  }
  throw new Error(`sluice serve was not ready in ${limitMs} ms:\n${output()}`);
}

/**
 * Starts `sluice serve` (embedded PGlite, no jobs), waits until it answers /ready, and reads the
 * memory of it and its descendants `at` seconds later (each from /ready); then stops it with
 * SIGTERM. Run the CLI bundle (`node scripts/build-cli.mjs`) first, or the figures include tsx.
 */
export async function idleMemory(c: IdleCase, at: readonly number[]): Promise<IdleResult> {
  const dataDir = c.dataDir ?? mkdtempSync(join(tmpdir(), 'bench-idle-'));
  const filesDir = c.examples?.length ? join(ROOT, 'examples') : dataDir;
  const args = ['serve', '--data-dir', join(dataDir, 'platform'), '--files-dir', filesDir];
  for (const e of c.examples ?? []) args.push('--example', e);
  const t0 = Date.now();
  // PORT=0: any free port (--port takes 1 and up); the start message says which.
  const child = spawn(process.execPath, [SLUICE, ...args], {
    cwd: dataDir,
    env: { ...process.env, PORT: '0', SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  try {
    await untilReady(child, () => out, 120_000);
    const readyAt = Date.now();
    const samples: IdleSample[] = [];
    for (const s of at) {
      await sleep(Math.max(0, readyAt + s * 1000 - Date.now()));
      samples.push(sample(child.pid!, s));
    }
    return { label: c.label, readyMs: readyAt - t0, samples, dataDir };
  } finally {
    // A server that already exited (it failed to start) has no 'exit' left to wait for.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

/**
 * The idle server three ways: its first start on a fresh data directory (PGlite runs initdb),
 * a restart on that directory, and the first start with `npm start`'s examples.
 */
export async function idleCases(at: readonly number[]): Promise<IdleResult[]> {
  const first = await idleMemory({ label: 'first start (fresh data directory)' }, at);
  const again = await idleMemory({ label: 'restart on that directory', dataDir: first.dataDir }, at);
  const examples = await idleMemory(
    { label: "first start with `npm start`'s examples", examples: START_EXAMPLES },
    at,
  );
  for (const r of [first, examples]) rmSync(r.dataDir, { recursive: true, force: true });
  return [first, again, examples];
}
