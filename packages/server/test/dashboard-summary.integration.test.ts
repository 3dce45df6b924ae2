import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { jobExecutions, stepExecutions } from '../src/db/schema.ts';
import { executePipeline, listSteps } from '../src/services/jobs.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { rollupRuns } from '../src/services/system-tasks.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { backends } from './helpers/backends.ts';
import { apiCaller, type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

const HOUR = 3_600_000;

interface Hour {
  hour: string;
  success: number;
  failed: number;
  total: number;
  rows: number;
  busyMs: number;
}

describe.each(backends)('GET /metrics/summary for the dashboard on $name', ({ name }) => {
  let p: TestPlatform;
  let worker: Worker;
  let app: App;
  const call = apiCaller(
    () => app,
    () => p.adminToken,
  );
  const run = async (spec: object) => {
    const pipeline = await createPipeline(p, { spec }, null);
    return waitForJob(p, await executePipeline(p, pipeline.id, { triggerType: 'manual' }));
  };

  beforeAll(async () => {
    p = await testPlatform(name);
    app = await buildApp(p, { uiDir: false, rateLimit: 100_000 });
  });
  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await p?.close();
  });

  it('on a fresh platform: 24 empty hours and no failing pipelines', async () => {
    const s = await call('GET', '/metrics/summary');
    expect(s.status).toBe(200);
    expect(s.body.hourly).toHaveLength(24);
    expect(s.body.hourly.every((h: Hour) => h.total === 0 && h.rows === 0 && h.busyMs === 0)).toBe(true);
    expect(s.body.failuresByPipeline).toEqual([]);
  });

  it('counts rows and run time per hour, and names the pipelines that failed most', async () => {
    worker = await startWorker(p, { concurrency: 2, killGraceMs: 1000 });
    writeFileSync(join(p.filesDir, 'good.csv'), 'id,amount\n1,5\n2,50\n3,500\n');
    const loaded = await run({
      name: 'loader',
      steps: [
        {
          id: 'copy',
          flow: [
            { source: 'csv', with: { path: 'good.csv' } },
            { sink: 'ndjson', with: { path: 'good.ndjson' } },
          ],
        },
      ],
    });
    const broken = { name: 'broken', steps: [{ id: 'fail', task: 'shell', with: { command: ['false'] } }] };
    const b1 = await run(broken);
    const b2 = await waitForJob(p, await executePipeline(p, b1.pipelineId, { triggerType: 'manual' }));
    const other = await run({
      name: 'also-broken',
      steps: [{ id: 'fail', task: 'shell', with: { command: ['false'] } }],
    });
    expect([loaded.status, b1.status, b2.status, other.status]).toEqual([
      'success',
      'failed',
      'failed',
      'failed',
    ]);
    expect((await listSteps(p, loaded.id))[0]!.rowsRead).toBe(3);

    // An older hour, kept by the roll-up: 1000 rows read in 4 s of run time.
    const top = Math.floor(Date.now() / HOUR) * HOUR;
    const fiveAgo = new Date(top - 5 * HOUR + 60_000);
    const [old] = await p.database.db
      .insert(jobExecutions)
      .values({
        pipelineId: loaded.pipelineId,
        pipelineVersion: 1,
        status: 'success',
        triggerType: 'scheduled',
        createdAt: fiveAgo,
        completedAt: fiveAgo,
        durationMs: 4000,
      })
      .returning();
    await p.database.db
      .insert(stepExecutions)
      .values({ jobId: old!.id, stepId: 'copy', kind: 'flow', status: 'success', rowsRead: 1000 });
    await rollupRuns(p);

    const s = await call('GET', '/metrics/summary');
    expect(s.status).toBe(200);
    const hourly = s.body.hourly as Hour[];
    expect(hourly.find((h) => h.hour === new Date(top - 5 * HOUR).toISOString())).toEqual({
      hour: new Date(top - 5 * HOUR).toISOString(),
      success: 1,
      failed: 0,
      total: 1,
      rows: 1000,
      busyMs: 4000,
    });
    // The jobs just run (in this hour, or the last one if the hour turned meanwhile).
    const recent = hourly.slice(-2);
    const sum = (k: keyof Hour) => recent.reduce((a, h) => a + Number(h[k]), 0);
    expect({
      success: sum('success'),
      failed: sum('failed'),
      total: sum('total'),
      rows: sum('rows'),
    }).toEqual({
      success: 1,
      failed: 3,
      total: 4,
      rows: 3,
    });
    expect(sum('busyMs')).toBe([loaded, b1, b2, other].reduce((a, j) => a + j.durationMs!, 0));

    expect(s.body.failuresByPipeline).toEqual([
      {
        pipelineId: b1.pipelineId,
        pipelineName: 'broken',
        failed: 2,
        jobs: 2,
        lastFailedAt: b2.completedAt!.toISOString(),
      },
      {
        pipelineId: other.pipelineId,
        pipelineName: 'also-broken',
        failed: 1,
        jobs: 1,
        lastFailedAt: other.completedAt!.toISOString(),
      },
    ]);
  });

  it('names the pipeline of each job in the job lists', async () => {
    const jobs = await call('GET', '/jobs?status=failed&limit=10');
    expect(jobs.status).toBe(200);
    expect(jobs.body.items.map((j: { pipelineName: string }) => j.pipelineName).sort()).toEqual([
      'also-broken',
      'broken',
      'broken',
    ]);
    const ok = await call('GET', '/jobs?status=success&limit=10');
    expect(new Set(ok.body.items.map((j: { pipelineName: string }) => j.pipelineName))).toEqual(
      new Set(['loader']),
    );
  });
});
