import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { listJobs } from '../src/services/jobs.ts';
import { type TestPlatform, testPlatform } from './helpers/platform.ts';
import { spawnWorker } from './helpers/worker-process.ts';

// One API process (this one) and two `sluice worker` processes on the local PostgreSQL.
let p: TestPlatform;
let app: App;
let workers: Awaited<ReturnType<typeof spawnWorker>>[] = [];
beforeAll(async () => {
  p = await testPlatform('postgres');
  app = await buildApp(p);
  workers = await Promise.all([spawnWorker(p), spawnWorker(p)]);
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await app.close();
  await p.close();
});

it('completes 120 jobs exactly once across two worker processes', async () => {
  const runs = join(p.filesDir, 'runs.log');
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/pipelines',
    headers: p.auth,
    payload: {
      spec: {
        name: 'many',
        parameters: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
        steps: [
          { id: 'mark', task: 'shell', with: { command: ['sh', '-c', `echo \${params.n} >> ${runs}`] } },
        ],
      },
    },
  });
  const id = JSON.parse(created.body).id;
  const N = 120;
  for (let n = 0; n < N; n++) {
    const r = await app.inject({
      method: 'POST',
      url: `/api/v1/pipelines/${id}/execute`,
      headers: p.auth,
      payload: { parameters: { n } },
    });
    expect(r.statusCode).toBe(202);
  }
  const deadline = Date.now() + 270_000;
  for (;;) {
    const { total } = await listJobs(p, { limit: 1, offset: 0, pipelineId: id, status: 'success' });
    if (total === N) break;
    const failed = await listJobs(p, { limit: 1, offset: 0, pipelineId: id, status: 'failed' });
    expect(failed.total).toBe(0);
    if (Date.now() > deadline) throw new Error(`only ${total} of ${N} jobs succeeded in time`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const marks = readFileSync(runs, 'utf8').trim().split('\n').map(Number);
  expect(marks).toHaveLength(N);
  expect(new Set(marks).size).toBe(N);
  const jobs = await listJobs(p, { limit: 500, offset: 0, pipelineId: id });
  expect(jobs.items.every((j) => j.attempt === 1)).toBe(true);
  const byWorker = new Set(jobs.items.map((j) => j.workerId));
  expect(byWorker).toEqual(new Set(workers.map((w) => w.id)));
}, 300_000);
