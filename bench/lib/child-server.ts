/**
 * A server the harness runs in its own process (s3rver, W7's API), so that its CPU and memory are
 * counted for no runner. The script prints `{"port": N}` once listening and stops when its stdin closes.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface ChildServer {
  port: number;
  child: ChildProcess;
  /** Closes its stdin and waits for it to exit. */
  close(): Promise<void>;
}

export async function startChildServer(script: string, args: string[]): Promise<ChildServer> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${script} exited (code ${code}) before listening`)));
    child.stdout?.once('data', (b: Buffer) => resolve((JSON.parse(b.toString()) as { port: number }).port));
  });
  return {
    port,
    child,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin?.end();
      }),
  };
}
