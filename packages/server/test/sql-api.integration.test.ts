import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { backends } from './helpers/backends.ts';
import { apiCaller, type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

// The sql transform on the platform: the API checks its query with DuckDB; a job runs it.
const spec = (name: string, query: string) => ({
  name,
  steps: [
    {
      id: 'totals',
      flow: [
        { source: 'csv', with: { path: 'sql-in.csv', schema: { n: 'integer' } } },
        { transform: 'sql', with: { query } },
        { sink: 'ndjson', with: { path: `${name}.ndjson` } },
      ],
    },
  ],
});

describe.each(backends)('sql transform on the platform ($name)', ({ name }) => {
  let p: TestPlatform;
  let app: App;
  let worker: Worker;
  beforeAll(async () => {
    p = await testPlatform(name);
    writeFileSync(join(p.filesDir, 'sql-in.csv'), 'g,n\na,1\nb,2\na,3\nb,4\nc,5\n');
    app = await buildApp(p);
    worker = await startWorker(p, { killGraceMs: 1000 });
  });
  afterAll(async () => {
    await worker.stop();
    await app.close();
    await p.close();
  });
  const call = apiCaller(
    () => app,
    () => p.adminToken,
  );

  it('refuses a pipeline whose query DuckDB cannot parse, at with.query', async () => {
    const r = await call('POST', '/pipelines', {
      spec: spec('bad-sql', 'SELECT g, FROM input GROUP BY g HAVING'),
    });
    expect(r.status).toBe(400);
    expect(r.body.error.details).toEqual([
      { path: 'spec.steps[0].flow[1].with.query', message: expect.stringMatching(/Parser Error/) },
    ]);
  });

  it('runs a sql step as a job, its report balanced around the aggregation', async () => {
    const query = 'SELECT g, count(*) AS rows, sum(n) AS total FROM input GROUP BY g ORDER BY g';
    const { body: pipeline } = await call('POST', '/pipelines', { spec: spec('sql-job', query) });
    const r = await call('POST', `/pipelines/${pipeline.id}/execute`, {});
    expect(r.status).toBe(202);
    const job = await waitForJob(p, r.body.jobId);
    expect(job.status).toBe('success');
    const steps = await call('GET', `/jobs/${r.body.jobId}/steps`);
    expect(steps.body.items[0]).toMatchObject({
      stepId: 'totals',
      status: 'success',
      rowsRead: 5,
      rowsWritten: 3,
    });
    const rows = readFileSync(join(p.filesDir, 'sql-job.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toEqual([
      { g: 'a', rows: 2, total: 4 },
      { g: 'b', rows: 2, total: 6 },
      { g: 'c', rows: 1, total: 5 },
    ]);
  });
});
