import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import type { JobExecution, StepExecution } from '../src/db/schema.ts';
import { DURATION_BUCKETS } from '../src/metrics/snapshot.ts';
import { executePipeline, listSteps } from '../src/services/jobs.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { backends } from './helpers/backends.ts';
import { type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, parsed: every sample, and the names that `# TYPE` declares. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

/** The samples of one metric, as `label=value,…` → value (labels sorted), for whole-set comparisons. */
function series(samples: Sample[], name: string, omit: string[] = []): Record<string, number> {
  return Object.fromEntries(
    samples
      .filter((s) => s.name === name)
      .map((s) => [
        Object.entries(s.labels)
          .filter(([k]) => !omit.includes(k))
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
        s.value,
      ]),
  );
}

const one = (samples: Sample[], name: string, labels: Record<string, string> = {}) => {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(found, `${name}${JSON.stringify(labels)}`).toHaveLength(1);
  return found[0]!.value;
};

/** The histogram's samples for one label set agree with the durations observed (in ms). */
function expectHistogram(samples: Sample[], name: string, labels: Record<string, string>, ms: number[]) {
  expect(one(samples, `${name}_count`, labels)).toBe(ms.length);
  expect(one(samples, `${name}_sum`, labels)).toBeCloseTo(ms.reduce((a, b) => a + b, 0) / 1000, 6);
  for (const le of DURATION_BUCKETS)
    expect(one(samples, `${name}_bucket`, { ...labels, le: String(le) }), `le=${le}`).toBe(
      ms.filter((d) => d <= le * 1000).length,
    );
  expect(one(samples, `${name}_bucket`, { ...labels, le: '+Inf' })).toBe(ms.length);
}

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 40_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.each(backends)('GET /metrics on $name', ({ name }) => {
  let p: TestPlatform;
  let worker: Worker;
  let app: App;
  const scrape = async () => {
    const r = await app.inject({ url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parse(r.body);
  };
  const run = async (spec: object, triggerType: 'manual' | 'api') => {
    const pipeline = await createPipeline(p, { spec }, null);
    const job = await waitForJob(p, await executePipeline(p, pipeline.id, { triggerType }));
    return { job, steps: await listSteps(p, job.id) };
  };
  let ok: { job: JobExecution; steps: StepExecution[] };
  let broken: typeof ok;
  let dirty: typeof ok;

  beforeAll(async () => {
    p = await testPlatform(name);
    worker = await startWorker(p, { concurrency: 3, killGraceMs: 1000 });
    app = await buildApp(p, { uiDir: false });
    writeFileSync(join(p.filesDir, 'good.csv'), 'id,amount\n1,5\n2,50\n3,500\n');
    writeFileSync(join(p.filesDir, 'names.csv'), 'id,name\n1,one\n2,two\n');
    writeFileSync(join(p.filesDir, 'dirty.csv'), 'a,b\n1,2\n3\n4,5\n6\n7,8\n');
    [ok, broken, dirty] = await Promise.all([
      run(
        {
          name: 'ok',
          steps: [
            {
              id: 'copy',
              flow: [
                { source: 'csv', with: { path: 'good.csv' } },
                { transform: 'lookup', with: { from: 'file', path: 'names.csv', key: { id: 'id' } } },
                { sink: 'ndjson', with: { path: 'good.ndjson' } },
              ],
            },
            { id: 'count', needs: ['copy'], task: 'shell', with: { command: ['true'] } },
          ],
        },
        'manual',
      ),
      run({ name: 'broken', steps: [{ id: 'fail', task: 'shell', with: { command: ['false'] } }] }, 'api'),
      run(
        {
          name: 'dirty',
          steps: [
            {
              id: 'load',
              flow: [
                { source: 'csv', with: { path: 'dirty.csv' } },
                { sink: 'ndjson', with: { path: 'dirty.ndjson' } },
              ],
            },
          ],
        },
        'manual',
      ),
    ]);
  });
  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await p?.close();
  });

  it('counts finished jobs and steps, their durations, rows and errors, as the database holds them', async () => {
    expect([ok.job.status, broken.job.status, dirty.job.status]).toEqual(['success', 'failed', 'success']);
    const { samples, types } = await scrape();

    expect(series(samples, 'etl_jobs_total')).toEqual({
      'pipeline=ok,status=success,trigger_type=manual': 1,
      'pipeline=broken,status=failed,trigger_type=api': 1,
      'pipeline=dirty,status=success,trigger_type=manual': 1,
    });
    // A flow is labelled with its sink, a task with its connector.
    expect(series(samples, 'etl_steps_total')).toEqual({
      'connector=ndjson,status=success': 2,
      'connector=shell,status=success': 1,
      'connector=shell,status=failed': 1,
    });

    for (const r of [ok, broken, dirty]) {
      const pipeline = r === ok ? 'ok' : r === broken ? 'broken' : 'dirty';
      expect(r.job.durationMs).toBeGreaterThan(0);
      expectHistogram(samples, 'etl_job_duration_seconds', { pipeline }, [r.job.durationMs!]);
    }
    const step = (r: typeof ok, id: string) => r.steps.find((s) => s.stepId === id)!;
    const ms = (...s: StepExecution[]) => s.map((x) => x.durationMs!);
    expectHistogram(
      samples,
      'etl_step_duration_seconds',
      { connector: 'ndjson' },
      ms(step(ok, 'copy'), step(dirty, 'load')),
    );
    expectHistogram(
      samples,
      'etl_step_duration_seconds',
      { connector: 'shell' },
      ms(step(ok, 'count'), step(broken, 'fail')),
    );
    expect(types.get('etl_job_duration_seconds')).toBe('histogram');

    // Rows: what the steps' rows hold, and what the inputs say (3 good rows; 5 rows, 2 short).
    expect(step(dirty, 'load')).toMatchObject({ rowsRead: 5, rowsQuarantined: 2 });
    const rows = (r: typeof ok, pipeline: string) =>
      Object.fromEntries(r.steps.map((s) => [`pipeline=${pipeline},step=${s.stepId}`, s.rowsRead]));
    expect(series(samples, 'etl_records_processed_total')).toEqual({
      ...rows(ok, 'ok'),
      ...rows(broken, 'broken'),
      ...rows(dirty, 'dirty'),
    });
    expect(one(samples, 'etl_records_processed_total', { pipeline: 'ok', step: 'copy' })).toBe(3);
    expect(one(samples, 'etl_records_quarantined_total', { pipeline: 'dirty', step: 'load' })).toBe(2);
    expect(one(samples, 'etl_records_quarantined_total', { pipeline: 'ok', step: 'copy' })).toBe(0);

    // What a component counted itself: the lookup found 2 of the 3 ids it fetched.
    expect(series(samples, 'sluice_component_counter_total')).toEqual({
      'component=copy.1:lookup,name=lookup.keysFetched,pipeline=ok,step=copy': 3,
      'component=copy.1:lookup,name=lookup.notFound,pipeline=ok,step=copy': 1,
    });

    const code = (step(broken, 'fail').error as { code: string }).code;
    expect(code).toBe('TASK_FAILED');
    expect(series(samples, 'etl_errors_total')).toEqual({ 'type=TASK_FAILED': 1 });

    expect(one(samples, 'etl_active_jobs')).toBe(0);
    expect(one(samples, 'etl_workers_available')).toBe(1);
    // prom-client's default process metrics are there too.
    expect(types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(types.get('nodejs_heap_size_used_bytes')).toBe('gauge');
  });

  it('a second API process on the same database reports the same figures', async () => {
    const other = await buildApp(p, { uiDir: false });
    try {
      const fleet = (text: string) =>
        parse(text).samples.filter((s) => s.name.startsWith('etl_') && s.name !== 'etl_queue_depth');
      const a = fleet((await app.inject({ url: '/metrics' })).body);
      const b = fleet((await other.inject({ url: '/metrics' })).body);
      expect(b).toEqual(a);
    } finally {
      await other.close();
    }
  });

  it('shows a running job as active, then waiting jobs as the queue depth once no worker is left', async () => {
    const slow = await createPipeline(
      p,
      { spec: { name: 'slow', steps: [{ id: 'nap', task: 'shell', with: { command: ['sleep', '3'] } }] } },
      null,
    );
    const jobId = await executePipeline(p, slow.id, { triggerType: 'manual' });
    await waitForJob(p, jobId, (s) => s === 'running');
    expect(one((await scrape()).samples, 'etl_active_jobs')).toBe(1);
    await waitForJob(p, jobId);
    expect(one((await scrape()).samples, 'etl_active_jobs')).toBe(0);

    await worker.stop();
    expect(one((await scrape()).samples, 'etl_workers_available')).toBe(0);
    for (let i = 0; i < 3; i++) await executePipeline(p, slow.id, { triggerType: 'api' });
    // pg-boss refreshes its queue counts on its monitor pass (every 10 s here).
    const depth = await until(
      async () => one((await scrape()).samples, 'etl_queue_depth'),
      (n) => n === 3,
    );
    expect(depth).toBe(3);
    const [stats] = await p.queue.getQueueStats('sluice-jobs');
    expect(stats!.queuedCount).toBe(3);
    // Waiting jobs are not finished ones: the counters have not moved.
    expect(
      series((await scrape()).samples, 'etl_jobs_total')['pipeline=slow,status=success,trigger_type=manual'],
    ).toBe(1);
  }, 90_000);
});

describe('GET /metrics with SLUICE_METRICS_TOKEN', () => {
  let p: TestPlatform;
  let app: App;
  const TOKEN = 'scrape-me-9f2c1e';
  beforeAll(async () => {
    p = await testPlatform('pglite');
    process.env.SLUICE_METRICS_TOKEN = TOKEN;
    try {
      app = await buildApp(p, { uiDir: false });
    } finally {
      delete process.env.SLUICE_METRICS_TOKEN;
    }
  });
  afterAll(async () => {
    await app?.close();
    await p?.close();
  });

  it('answers 401 without the token or with a wrong one, 200 with it', async () => {
    const get = (authorization?: string) =>
      app.inject({ url: '/metrics', headers: authorization ? { authorization } : {} });
    for (const bad of [
      undefined,
      'Bearer nope',
      `Bearer ${TOKEN}x`,
      TOKEN,
      `Basic ${TOKEN}`,
      `Bearer ${p.adminToken}`,
    ]) {
      const r = await get(bad);
      expect(r.statusCode, String(bad)).toBe(401);
      expect(JSON.parse(r.body).error.code).toBe('UNAUTHORIZED');
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(r.body).not.toMatch(/etl_/);
    }
    const r = await get(`Bearer ${TOKEN}`);
    expect(r.statusCode).toBe(200);
    expect(r.body).toMatch(/^# TYPE etl_jobs_total counter$/m);
    expect((await get(`bearer ${TOKEN}`)).statusCode).toBe(200);
    // The rest of the operations routes stay public.
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    const doc = JSON.parse((await app.inject({ url: '/api/v1/openapi.json' })).body);
    expect(doc.paths['/metrics'].get.security).toEqual([{ bearer: [] }]);
  });

  it('every metric the Grafana dashboard queries is served', async () => {
    const dashboard = JSON.parse(
      readFileSync(new URL('../../../deploy/grafana/sluice.json', import.meta.url), 'utf8'),
    ) as unknown;
    const exprs: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) {
          if (k === 'expr' && typeof x === 'string') exprs.push(x);
          else walk(x);
        }
    };
    walk(dashboard);
    expect(exprs.length).toBeGreaterThanOrEqual(6);
    const r = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    const { types } = parse(r.body);
    const served = new Set(
      [...types].flatMap(([n, t]) =>
        t === 'histogram' ? [n, `${n}_bucket`, `${n}_sum`, `${n}_count`] : [n],
      ),
    );
    const used = new Set(exprs.flatMap((e) => e.match(/\b(?:etl|process|nodejs)_\w+/g) ?? []));
    expect([...used].filter((n) => !served.has(n))).toEqual([]);
    expect([...used].filter((n) => n.startsWith('etl_')).length).toBeGreaterThanOrEqual(6);
  });
});
