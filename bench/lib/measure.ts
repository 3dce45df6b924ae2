/**
 * Runs one command and measures its wall time and peak resident memory.
 *
 * Peak RSS comes from polling VmHWM in /proc/<pid>/status (the kernel's own high-water mark, so
 * polling only has to catch the process alive, not at its peak) for the process and every
 * descendant seen; the figure is the sum of their high-water marks. That is exact for a single
 * process and an upper bound when a launcher spawns a child (e.g. a loader that re-executes node).
 * It needs nothing installed, unlike GNU time.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Measured {
  wallMs: number;
  peakRssBytes: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface MeasureOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Polling period for /proc; VmHWM is monotonic, so this only bounds what the last moments can hide. */
  pollMs?: number;
}

function readHwmKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // exited between listing and reading
  }
}

function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim();
    return text === '' ? [] : text.split(' ').map(Number);
  } catch {
    return [];
  }
}

export function measure(
  command: string,
  args: readonly string[],
  opts: MeasureOptions = {},
): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const hwmKb = new Map<number, number>();
    const poll = (pid: number): void => {
      const kb = readHwmKb(pid);
      if (kb > (hwmKb.get(pid) ?? 0)) hwmKb.set(pid, kb);
      for (const child of childrenOf(pid)) poll(child);
    };
    const t0 = performance.now();
    const child = spawn(command, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: 'pipe' });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    const pid = child.pid;
    const timer = pid === undefined ? undefined : setInterval(() => poll(pid), opts.pollMs ?? 10);
    if (pid !== undefined) poll(pid);
    let wallMs = 0;
    child.on('exit', () => {
      wallMs = performance.now() - t0;
      clearInterval(timer);
    });
    child.on('error', (err) => {
      clearInterval(timer);
      reject(new Error(`could not start ${command}: ${err.message}`));
    });
    child.on('close', (exitCode, signal) => {
      let peakKb = 0;
      for (const kb of hwmKb.values()) peakKb += kb;
      resolve({
        wallMs,
        peakRssBytes: peakKb * 1024,
        exitCode,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}

/** Throws with the command's stderr when it did not exit 0. */
export function assertOk(name: string, m: Measured): Measured {
  if (m.exitCode !== 0) {
    const why = m.signal ? `signal ${m.signal}` : `exit code ${m.exitCode}`;
    const tail = (s: string): string => s.trim().slice(-3000) || '(empty)';
    throw new Error(`${name} failed (${why}).\nstderr: ${tail(m.stderr)}\nstdout: ${tail(m.stdout)}`);
  }
  return m;
}
