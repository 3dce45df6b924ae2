import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { SLUICE_BIN } from '../helpers.ts';

// `npx sluice connectors csv | head -1` printed an EPIPE stack trace: `head` closed the pipe and
// Node raised the write error as an unhandled 'error' event. Here the pipe's reading end is closed
// before the command writes anything, so every write fails with EPIPE, whatever the timing.
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLUICE_BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

it.each([[['connectors', 'csv']], [['connectors', '--json']], [['validate', 'examples/orders.yaml']]])(
  'sluice %j exits quietly when stdout is closed',
  async (args) => {
    const r = await withClosedStdout(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  },
);
