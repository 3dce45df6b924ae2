import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executePipeline, listSteps } from '../src/services/jobs.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

// `isolation: none`: the tasks that allow it run in the worker; the rest keep their step process.
describe('isolation: none', () => {
  let p: TestPlatform;
  let worker: Worker;
  beforeAll(async () => {
    p = await testPlatform('pglite');
    worker = await startWorker(p, { concurrency: 1 });
  });
  afterAll(async () => {
    await worker.stop();
    await p.close();
  });

  const spec = (isolation?: string) => ({
    name: `iso-${isolation ?? 'default'}`,
    ...(isolation ? { isolation } : {}),
    steps: [
      {
        id: 'create',
        task: 'sql',
        with: {
          url: 'sqlite:iso.db',
          sql: 'CREATE TABLE IF NOT EXISTS t (x INTEGER); INSERT INTO t VALUES (1)',
        },
      },
      { id: 'count', needs: ['create'], task: 'shell', with: { command: ['true'] } },
    ],
  });

  it('runs a sql task in the worker and a shell task in a step process', async () => {
    const pipeline = await createPipeline(p, { spec: spec('none') }, 'tester');
    const job = await waitForJob(p, await executePipeline(p, pipeline.id, { triggerType: 'manual' }));
    expect(job.status).toBe('success');
    const steps = await listSteps(p, job.id);
    const create = steps.find((s) => s.stepId === 'create')!;
    const count = steps.find((s) => s.stepId === 'count')!;
    expect(create).toMatchObject({ status: 'success', workerId: worker.id });
    expect(count.status).toBe('success');
    // The step row names the process that ran it: this one (the worker), or a step process.
    expect((create.report as { resources?: unknown }).resources).toBeUndefined();
    expect((count.report as { resources?: { cpuMs: number } }).resources?.cpuMs).toBeGreaterThanOrEqual(0);
    expect(existsSync(join(p.filesDir, 'iso.db'))).toBe(true);
  });

  it('runs every step in a step process by default', async () => {
    const pipeline = await createPipeline(p, { spec: spec() }, 'tester');
    const job = await waitForJob(p, await executePipeline(p, pipeline.id, { triggerType: 'manual' }));
    expect(job.status).toBe('success');
    const steps = await listSteps(p, job.id);
    for (const s of steps)
      expect((s.report as { resources?: { cpuMs: number } }).resources?.cpuMs).toBeGreaterThanOrEqual(0);
  });

  it('refuses an isolation it does not know, at its path', async () => {
    await expect(createPipeline(p, { spec: spec('thread') }, 'tester')).rejects.toMatchObject({
      issues: expect.arrayContaining([
        expect.objectContaining({ path: 'spec.isolation', message: 'must be one of: process, none' }),
      ]),
    });
  });
});
