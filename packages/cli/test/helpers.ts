import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const SLUICE_BIN = fileURLToPath(new URL('../bin/sluice.js', import.meta.url));
export const TEST_DATABASE_URL =
  process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `sluice` bin in a child process. */
export function sluice(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLUICE_BIN, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Starts `sluice <args>` (serve or worker) and waits until it says it is ready ("Ctrl-C stops it"). */
export async function startSluice(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; banner: string }> {
  const child = spawn(process.execPath, [SLUICE_BIN, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const banner = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`sluice ${args[0]} exited with ${code}: ${out}`)));
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('Ctrl-C')) resolve(out);
    });
  });
  return { child, banner };
}

/** The highest checkpoint a PostgreSQL sink committed in `schema`.checkpoints (0 before the table exists). */
export async function committedSeq(
  client: { query(sql: string): Promise<{ rows: { seq?: number | null }[] }> },
  schema: string,
): Promise<number> {
  try {
    const r = await client.query(`SELECT max(seq)::int AS seq FROM ${schema}.checkpoints`);
    return r.rows[0]?.seq ?? 0;
  } catch {
    return 0;
  }
}
