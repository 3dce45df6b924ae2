import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StepHostPool } from '../src/worker/step-hosts.ts';
import { runStepProcess } from '../src/worker/step-process.ts';
import { stepRun } from './helpers/step-run.ts';

const MB = 1024 * 1024;
const ballast = join(import.meta.dirname, 'fixtures', 'ballast.mjs');

/** Runs the spec's only step in the pool; resolves with its report and the process that ran it. */
async function step(
  hosts: StepHostPool,
  spec: { name: string; steps: { id: string; [k: string]: unknown }[] },
) {
  const workDir = mkdtempSync(join(tmpdir(), 'sluice-mem-'));
  let pid = 0;
  const report = await runStepProcess({
    ...stepRun(workDir, spec, spec.steps[0]!.id),
    modules: [ballast],
    pool: { hosts, key: 'p' },
    onSpawn: (p) => {
      pid = p;
    },
  });
  return { report, pid };
}

// Each step process is Node + tsx: seconds on a busy machine.
describe("a step's peak memory", { timeout: 60_000 }, () => {
  it('is its own, not that of an earlier step in the same process', async () => {
    const hosts = new StepHostPool();
    try {
      const big = await step(hosts, {
        name: 'p',
        steps: [{ id: 'big', task: 'ballast', with: { mb: 160 } }],
      });
      const small = await step(hosts, {
        name: 'p',
        steps: [{ id: 'small', task: 'shell', with: { command: ['true'] } }],
      });
      expect(big.report.status).toBe('success');
      expect(small.report.status).toBe('success');
      // Same process: before, its lifetime peak made the two look alike.
      expect(small.pid).toBe(big.pid);
      const [b, s] = [big.report.resources!, small.report.resources!];
      expect(b.peakScope).toBe('step');
      expect(s.peakScope).toBe('step');
      expect(b.peakRssBytes).toBeGreaterThan(160 * MB);
      // The ballast is gone by the next step: its peak is the engine at rest, well below.
      expect(s.peakRssBytes).toBeLessThan(b.peakRssBytes - 100 * MB);
      expect(s.peakRssBytes).toBeGreaterThan(10 * MB);
    } finally {
      hosts.close();
    }
  });
});
