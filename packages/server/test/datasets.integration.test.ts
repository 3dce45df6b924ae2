import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { datasetsDirOf, fetchDatasets } from '../src/services/datasets.ts';
import { backends } from './helpers/backends.ts';
import { apiCaller, tokenFor, waitForJob } from './helpers/platform.ts';
import { runningPlatform } from './helpers/running.ts';

// Issue 17 §2: a step hands rows to a later step as a dataset; the job's API lists, previews and
// downloads it.

const spec = (name: string, needs: boolean) => ({
  name: `datasets-${name}`,
  steps: [
    {
      id: 'extract',
      flow: [
        { source: 'ndjson', with: { path: `ds-${name}.ndjson` } },
        { transform: 'filter', with: { where: 'row.qty > 0' } },
        { sink: 'dataset', with: { name: 'orders', schema: { day: 'date' } } },
      ],
    },
    {
      id: 'load',
      ...(needs ? { needs: ['extract'] } : {}),
      flow: [
        { source: 'dataset', with: { name: 'orders' } },
        { sink: 'ndjson', with: { path: `ds-out-${name}.ndjson` } },
      ],
    },
  ],
});

describe.each(backends)('datasets between the steps of a job on $name', ({ name }) => {
  const ctx = runningPlatform(name);
  let viewer: ReturnType<typeof apiCaller>;
  let viewerToken = '';
  let jobId = '';
  const rows = 120;
  const kept = 80; // qty > 0 for two rows in three

  beforeAll(async () => {
    viewerToken = await tokenFor(ctx.p, 'viewer');
    viewer = apiCaller(
      () => ctx.app,
      () => viewerToken,
    );
    const lines = Array.from({ length: rows }, (_, i) =>
      JSON.stringify({ id: i + 1, qty: i % 3, day: `2026-03-${String((i % 28) + 1).padStart(2, '0')}` }),
    );
    writeFileSync(join(ctx.p.filesDir, `ds-${name}.ndjson`), `${lines.join('\n')}\n`);
    const created = await ctx.admin('POST', '/pipelines', { spec: spec(name, true) });
    expect(created.status, created.text).toBe(201);
    const run = await ctx.admin('POST', `/pipelines/${created.body.id}/execute`, {});
    const job = await waitForJob(ctx.p, run.body.jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('success');
    jobId = job.id;
    expect(job.integrity).toMatchObject({
      ok: true,
      datasets: [
        { name: 'orders', writer: 'extract', rowsWritten: kept, readers: [{ step: 'load', rowsRead: kept }] },
      ],
    });
  });

  it('lists the dataset with its writer, its reader and the rows each saw', async () => {
    const r = await viewer('GET', `/jobs/${jobId}/datasets`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.items).toHaveLength(1);
    const [d] = r.body.items;
    expect(d).toMatchObject({
      name: 'orders',
      writerStep: 'extract',
      readerSteps: [{ stepId: 'load', status: 'success', rowsRead: kept }],
      rows: kept,
    });
    expect(d.bytes).toBeGreaterThan(0);
    expect(d.checksum).toMatch(/^[0-9a-f]{16}$/);
    expect(d.columns).toContainEqual({ name: 'day', type: 'date' });
  });

  it('previews the first rows, typed as a reading step sees them', async () => {
    const r = await viewer('GET', `/jobs/${jobId}/datasets/orders/preview?limit=5`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ name: 'orders', rows: kept });
    expect(r.body.items).toEqual(
      [
        { id: 2, qty: 1, day: '2026-03-02' },
        { id: 3, qty: 2, day: '2026-03-03' },
        { id: 5, qty: 1, day: '2026-03-05' },
        { id: 6, qty: 2, day: '2026-03-06' },
        { id: 8, qty: 1, day: '2026-03-08' },
      ].map(({ id, qty, day }) => ({ day, id, qty })),
    );
    const big = await viewer('GET', `/jobs/${jobId}/datasets/orders/preview?limit=1001`);
    expect(big.status).toBe(400);
    expect(big.text).toMatch(/limit/);
  });

  it('downloads the Parquet file', async () => {
    const r = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/jobs/${jobId}/datasets/orders/download`,
      headers: { authorization: `Bearer ${viewerToken}` },
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-disposition']).toBe('attachment; filename="orders.parquet"');
    const body = r.rawPayload;
    expect(body.subarray(0, 4).toString('latin1')).toBe('PAR1');
    expect(body.subarray(-4).toString('latin1')).toBe('PAR1');
  });

  it('describes its routes in the OpenAPI document', async () => {
    const doc = JSON.parse((await ctx.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).body);
    const paths = Object.keys(doc.paths).filter((k) => k.includes('/datasets'));
    expect(paths.sort()).toEqual([
      '/api/v1/jobs/{id}/datasets',
      '/api/v1/jobs/{id}/datasets/{name}/download',
      '/api/v1/jobs/{id}/datasets/{name}/preview',
    ]);
  });

  it('answers 404 for a dataset the job has not, and 401 without a token', async () => {
    const r = await viewer('GET', `/jobs/${jobId}/datasets/nope/preview`);
    expect(r.status).toBe(404);
    expect(r.body.error.message).toMatch(/dataset "nope"/);
    const anon = await apiCaller(() => ctx.app)('GET', `/jobs/${jobId}/datasets`);
    expect(anon.status).toBe(401);
  });

  it('fetches a dataset from the artifact store for a worker that lacks it, and previews from the store', async () => {
    const dir = datasetsDirOf(ctx.p, jobId);
    rmSync(dir, { recursive: true, force: true });
    const r = await viewer('GET', `/jobs/${jobId}/datasets/orders/preview?limit=1`);
    expect(r.body.items).toEqual([{ day: '2026-03-02', id: 2, qty: 1 }]);
    await fetchDatasets(ctx.p, jobId, ['orders']);
    const { datasetArea } = await import('@sluice/core');
    expect(await datasetArea(dir).meta('orders')).toMatchObject({
      name: 'orders',
      rows: kept,
      writtenBy: 'extract',
    });
  });

  it('runs a reader on a worker whose workspace lost the dataset: fetched from the artifact store first', async () => {
    // A step between them removes the job's dataset area, as a worker taking up a retried job
    // on another machine would not have it.
    const wipe = `rm -rf '${join(ctx.p.dataDir, 'work')}'/*/datasets`;
    const doc = spec(name, true);
    const load = doc.steps[1] as { needs?: string[] };
    load.needs = ['wipe'];
    const created = await ctx.admin('POST', '/pipelines', {
      spec: {
        ...doc,
        name: `datasets-fetch-${name}`,
        steps: [
          doc.steps[0],
          { id: 'wipe', needs: ['extract'], task: 'shell', with: { command: ['sh', '-c', wipe] } },
          doc.steps[1],
        ],
      },
    });
    expect(created.status, created.text).toBe(201);
    const run = await ctx.admin('POST', `/pipelines/${created.body.id}/execute`, {});
    const job = await waitForJob(ctx.p, run.body.jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('success');
    expect(job.integrity).toMatchObject({
      datasets: [{ name: 'orders', rowsWritten: kept, readers: [{ step: 'load', rowsRead: kept }] }],
    });
  });

  it('refuses a pipeline whose reader does not need the writer, at the path of the name', async () => {
    const r = await ctx.admin('POST', '/pipelines', {
      spec: { ...spec(name, false), name: `datasets-bad-${name}` },
    });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body.error)).toMatch(/steps\[1\]\.flow\[0\]\.with\.name/);
    expect(JSON.stringify(r.body.error)).toMatch(/add needs: \[extract\]/);
  });
});
