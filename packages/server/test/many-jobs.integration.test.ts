import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { apiCaller, type TestPlatform, testPlatform } from './helpers/platform.ts';

let p: TestPlatform;
let app: App;
beforeAll(async () => {
  p = await testPlatform('pglite');
  app = await buildApp(p);
});
afterAll(async () => {
  await app?.close();
  await p?.close();
});

// The UI's job list pages on the server: with 10,000 jobs, every page is one bounded query.
it('pages through 10,000 jobs with filters, newest first', async () => {
  const pipeline = await createPipeline(
    p,
    { spec: { name: 'busy', steps: [{ id: 's', task: 'shell', with: { command: ['true'] } }] } },
    null,
  );
  await p.database.query(
    `INSERT INTO job_executions (pipeline_id, pipeline_version, status, trigger_type, created_at)
     SELECT $1, 1, CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'success' END, 'scheduled',
            now() - (n || ' minutes')::interval
       FROM generate_series(1, 10000) AS n`,
    [pipeline.id],
  );
  const call = apiCaller(
    () => app,
    () => p.adminToken,
  );
  const first = await call('GET', '/jobs?limit=50');
  expect(first.body).toMatchObject({ total: 10_000, limit: 50, offset: 0 });
  expect(first.body.items).toHaveLength(50);
  const times = first.body.items.map((j: { createdAt: string }) => Date.parse(j.createdAt));
  expect(times).toEqual([...times].sort((a, b) => b - a));
  const last = await call('GET', '/jobs?limit=50&offset=9950');
  expect(last.body.items).toHaveLength(50);
  const failed = await call('GET', `/jobs?status=failed&pipelineId=${pipeline.id}&limit=50&offset=950`);
  expect(failed.body.total).toBe(1000);
  expect(failed.body.items).toHaveLength(50);
});
