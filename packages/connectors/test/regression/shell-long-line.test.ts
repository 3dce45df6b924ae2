import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunEvent, runPipeline } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { registry } from '../parallel-harness.ts';

// A shell task printing a 200 MB line kept its step at full CPU for over 75 s: each chunk was
// joined to the whole line so far and split again, and the line was held in memory.
const print50MB = ['sh', '-c', "head -c 50000000 /dev/zero | tr '\\0' a; echo; echo done"];

async function runShell(saveOutput: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-reg-'));
  const logs: string[] = [];
  const report = await runPipeline(
    {
      name: 'long',
      steps: [
        { id: 'print', task: 'shell', with: { command: print50MB, ...(saveOutput ? { saveOutput } : {}) } },
      ],
    },
    {
      registry,
      stateDir: dir,
      onEvent: (e: RunEvent) => {
        if (e.type === 'log' && e.componentId !== 'print') logs.push(e.message);
      },
    },
  );
  return { report, logs, dir };
}

describe('a shell task printing a 50 MB line', { timeout: 60_000 }, () => {
  it('logs the line cut to 2,000 characters with the bytes left out', async () => {
    const { report, logs } = await runShell(false);
    expect(report.status).toBe('success');
    expect(logs).toEqual([`${'a'.repeat(2000)}… [truncated 49,998,000 bytes]`, 'done']);
    expect(report.steps[0]!.output).toBe(`${'a'.repeat(2000)}… [truncated 49,998,000 bytes]\ndone`);
  });

  it('keeps the full output in the step directory with saveOutput: true, and says where', async () => {
    const { report, logs, dir } = await runShell(true);
    expect(report.status).toBe('success');
    const stdout = join(dir, 'steps', 'print', 'stdout.log');
    expect(statSync(stdout).size).toBe(50_000_000 + '\ndone\n'.length);
    expect(statSync(join(dir, 'steps', 'print', 'stderr.log')).size).toBe(0);
    expect(logs[0]!.length).toBe(2000 + '… [truncated 49,998,000 bytes]'.length);
    expect(logs.at(-1)).toMatch(new RegExp(`full output of .* is in ${stdout} and .*stderr\\.log$`));
  });
});
