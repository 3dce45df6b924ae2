import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { backends } from './helpers/backends.ts';
import { apiCaller, type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

const spec = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  parameters: { type: 'object', properties: { min: { type: 'integer', default: 0 } } },
  steps: [
    {
      id: 'load',
      flow: [
        { source: 'csv', with: { path: 'in.csv', schema: { n: 'integer' } } },
        { transform: 'filter', with: { where: 'n >= params.min' } },
        { sink: 'ndjson', with: { path: `${name}.ndjson` } },
      ],
    },
  ],
  ...extra,
});

describe.each(backends)('REST API on $name', ({ name }) => {
  let p: TestPlatform;
  let app: App;
  let worker: Worker;
  beforeAll(async () => {
    p = await testPlatform(name);
    writeFileSync(join(p.filesDir, 'in.csv'), 'n\n1\n2\n3\n4\n');
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

  it('creates, versions, validates and deletes pipelines', async () => {
    const created = await call('POST', '/pipelines', { spec: spec('crud') });
    expect(created).toMatchObject({ status: 201, body: { name: 'crud', version: 1 } });
    const id = created.body.id;
    expect((await call('POST', '/pipelines', { spec: spec('crud') })).status).toBe(409);
    const updated = await call('PUT', `/pipelines/${id}`, { spec: spec('crud', { description: 'v2' }) });
    expect(updated.body.version).toBe(2);
    const versions = await call('GET', `/pipelines/${id}/versions`);
    expect(versions.body.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    const list = await call('GET', '/pipelines?limit=1&offset=0');
    expect(list.body).toMatchObject({ limit: 1, offset: 0 });
    expect(list.body.total).toBeGreaterThanOrEqual(1);
    const renamed = await call('PUT', `/pipelines/${id}`, { name: 'crud-renamed' });
    expect(renamed.body).toMatchObject({ name: 'crud-renamed', version: 3, spec: { name: 'crud-renamed' } });
    const named = await call('POST', '/pipelines', { name: 'other-name', spec: spec('crud') });
    expect(named.body).toMatchObject({ name: 'other-name', spec: { name: 'other-name' } });
    expect((await call('DELETE', `/pipelines/${id}`)).status).toBe(204);
    expect((await call('GET', `/pipelines/${id}`)).status).toBe(404);
  });

  it('rejects a bad spec with the JSON path of each problem', async () => {
    const bad = spec('bad');
    (bad.steps[0]!.flow[1]!.with as Record<string, unknown>).where = 'n >=';
    (bad.steps[0] as Record<string, unknown>).needs = ['ghost'];
    const r = await call('POST', '/pipelines', { spec: bad });
    expect(r.status).toBe(400);
    const paths = r.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toContain('spec.steps[0].needs[0]');
    const created = await call('POST', '/pipelines', { spec: spec('good') });
    const v = await call('POST', `/pipelines/${created.body.id}/validate`, { spec: bad });
    expect(v.body.ok).toBe(false);
    expect(v.body.issues.length).toBeGreaterThan(0);
    const malformed = await app.inject({
      method: 'POST',
      url: '/api/v1/pipelines',
      headers: { 'content-type': 'application/json', ...p.auth },
      payload: '{"spec": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(JSON.parse(malformed.body).error.message).toMatch(/JSON/i);
    const huge = await app.inject({
      method: 'POST',
      url: '/api/v1/pipelines',
      headers: { 'content-type': 'application/json', ...p.auth },
      payload: JSON.stringify({ spec: { name: 'x'.repeat(2 * 1024 * 1024) } }),
    });
    expect(huge.statusCode).toBe(413);
    expect(JSON.parse(huge.body).error.code).toBeTruthy();
    const missing = await call('POST', '/pipelines', {});
    expect(missing.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'body.spec' }] });
  });

  it('executes with parameters (202 at once), and shows the job, its steps and logs', async () => {
    const { body: pipeline } = await call('POST', '/pipelines', { spec: spec('run') });
    const bad = await call('POST', `/pipelines/${pipeline.id}/execute`, { parameters: { min: 'x' } });
    expect(bad.status).toBe(400);
    const r = await call('POST', `/pipelines/${pipeline.id}/execute`, { parameters: { min: 3 } });
    expect(r.status).toBe(202);
    const job = await waitForJob(p, r.body.jobId);
    expect(job.status).toBe('success');
    const detail = await call('GET', `/jobs/${r.body.jobId}`);
    expect(detail.body).toMatchObject({
      // Issue 15: the job page names the pipeline, from the detail alone.
      pipelineName: 'run',
      status: 'success',
      triggerType: 'api',
      parameters: { min: 3 },
      attempt: 1,
    });
    expect(detail.body.integrity).toMatchObject({ ok: true, verified: 'count' });
    const steps = await call('GET', `/jobs/${r.body.jobId}/steps`);
    expect(steps.body.items[0]).toMatchObject({
      stepId: 'load',
      status: 'success',
      rowsRead: 4,
      rowsWritten: 2,
      rowsFiltered: 2,
    });
    const step = await call('GET', `/jobs/${r.body.jobId}/steps/load`);
    expect(step.body.report.components).toHaveLength(3);
    const logs = await call('GET', `/jobs/${r.body.jobId}/logs?level=INFO&search=success`);
    expect(logs.body.items.map((l: { message: string }) => l.message)).toContain('job success');
    const stepLogs = await call('GET', `/jobs/${r.body.jobId}/steps/load/logs`);
    expect(stepLogs.body.items.every((l: { stepId: string }) => l.stepId === 'load')).toBe(true);
    // Issue 15: the log tells the step's story: start, input, commits, and how it ended.
    const story = stepLogs.body.items.map((l: { message: string }) => l.message).join('\n');
    expect(story).toMatch(/flow step started/);
    expect(story).toMatch(/load\.0:csv reading .*\.csv/);
    expect(story).toMatch(/checkpoint 1 \(final\) committed after row 4: load\.2:\w+ 2 rows written/);
    expect(story).toMatch(
      /done in [\d.]+ s: read 4, written 2, filtered 2, quarantined 0.*integrity ok, counts verified/,
    );
    const artifacts = await call('GET', `/jobs/${r.body.jobId}/artifacts`);
    expect(artifacts.body.items.map((a: { name: string }) => a.name)).toEqual([
      'load.report.json',
      'log.ndjson',
    ]);
    const dl = await app.inject({
      url: `/api/v1/jobs/${r.body.jobId}/artifacts/load.report.json`,
      headers: p.auth,
    });
    expect(dl.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(dl.body)).toMatchObject({ id: 'load', status: 'success', rowsWritten: 2 });
    const listed = await call('GET', '/pipelines?q=run');
    expect(listed.body.items.find((x: { id: string }) => x.id === pipeline.id)).toMatchObject({
      lastRun: { id: r.body.jobId, status: 'success' },
      nextRunAt: null,
    });
    const m = await call('GET', `/metrics/pipelines/${pipeline.id}`);
    expect(m.body).toMatchObject({ jobs: 1, success: 1, successRate: 1, rowsRead: 4, rowsWritten: 2 });
    const c = await call('GET', '/metrics/connectors/filter?days=1');
    expect(c.body.success).toBeGreaterThanOrEqual(1);
    const filtered = await call('GET', `/jobs?pipelineId=${pipeline.id}&status=success`);
    expect(filtered.body.items.map((j: { id: string }) => j.id)).toEqual([r.body.jobId]);
    expect(filtered.body.items[0].pipelineName).toBe('run');
    expect((await call('POST', `/jobs/${r.body.jobId}/cancel`)).status).toBe(409);
    expect((await call('POST', `/jobs/${r.body.jobId}/retry`, {})).status).toBe(409);
  });

  it('manages schedules with time zones, next runs and pause/resume', async () => {
    const { body: pipeline } = await call('POST', '/pipelines', { spec: spec('sched') });
    const bad = await call('POST', '/schedules', {
      pipelineId: pipeline.id,
      cron: '99 * * * *',
      timezone: 'Nowhere/City',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(['timezone', 'cron']);
    const s = await call('POST', '/schedules', {
      pipelineId: pipeline.id,
      cron: '0 9 * * 1-5',
      timezone: 'Europe/Lisbon',
      parameters: { min: 2 },
    });
    expect(s.status).toBe(201);
    expect(s.body.nextRuns).toHaveLength(5);
    expect(new Date(s.body.nextRunAt).getTime()).toBeGreaterThan(Date.now());
    const paused = await call('POST', `/schedules/${s.body.id}/pause`);
    expect(paused.body).toMatchObject({ paused: true, nextRunAt: null, nextRuns: [] });
    const resumed = await call('POST', `/schedules/${s.body.id}/resume`);
    expect(resumed.body.paused).toBe(false);
    const changed = await call('PUT', `/schedules/${s.body.id}`, { missedPolicy: 'run_once' });
    expect(changed.body.missedPolicy).toBe('run_once');
    expect((await call('GET', `/schedules?pipelineId=${pipeline.id}`)).body.total).toBe(1);
    expect((await call('DELETE', `/schedules/${s.body.id}`)).status).toBe(204);
  });

  it('serves connectors, health, readiness, the OpenAPI document and errors in one shape', async () => {
    const cs = await call('GET', '/connectors?kind=sink');
    expect(cs.body.items.map((c: { name: string }) => c.name)).toContain('postgres');
    expect((await call('GET', '/connectors/csv/schema')).body.type).toBe('object');
    const missing = await call('GET', '/connectors/cvs');
    expect(missing.body.error).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/did you mean .*csv/),
    });
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    const ready = await app.inject({ url: '/ready' });
    expect(JSON.parse(ready.body)).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true }, queue: { ok: true } },
    });
    const doc = JSON.parse((await app.inject({ url: '/api/v1/openapi.json' })).body);
    for (const path of [
      '/api/v1/pipelines/{id}/execute',
      '/api/v1/jobs/{id}/retry',
      '/api/v1/dlq/{id}/requeue',
      '/api/v1/schedules/{id}/pause',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const nowhere = await call('GET', '/nowhere');
    expect(nowhere).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    const summary = await call('GET', '/metrics/summary');
    expect(summary.body.workers).toBeGreaterThanOrEqual(1);
  });
});
