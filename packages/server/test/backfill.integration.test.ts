import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { auditLog, jobExecutions } from '../src/db/schema.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { backends } from './helpers/backends.ts';
import { apiCaller, type TestPlatform, testPlatform, tokenFor } from './helpers/platform.ts';

const DATE_PARAMS = {
  type: 'object',
  properties: { date: { type: 'string', format: 'date' }, end: { type: 'string' } },
  required: ['date'],
};

/** A pipeline whose one step appends `start <ms> <date>` and `end <ms> <date>` around a sleep. */
const sleeper = (name: string, trace: string, seconds: number) => ({
  name,
  parameters: DATE_PARAMS,
  steps: [
    {
      id: 'work',
      task: 'shell',
      with: {
        command: [
          'sh',
          '-c',
          `echo "start $(date +%s%3N) \${params.date} \${params.end}" >> ${trace}; sleep ${seconds}; echo "end $(date +%s%3N) \${params.date}" >> ${trace}`,
        ],
      },
    },
  ],
});

/** The most runs that were between their start and end lines at one time. */
function maxOverlap(lines: string[]): number {
  const events = lines
    .map((l) => l.split(' '))
    .map(([kind, ms]) => ({ at: Number(ms), d: kind === 'start' ? 1 : -1 }))
    .sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of events) {
    now += e.d;
    max = Math.max(max, now);
  }
  return max;
}

describe.each(backends)('backfills on $name', ({ name }) => {
  let p: TestPlatform;
  let app: App;
  let worker: Worker;
  let api: ReturnType<typeof apiCaller>;
  let viewer: ReturnType<typeof apiCaller>;
  const until = async <T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await read();
      if (ok(v)) return v;
      if (Date.now() > end) throw new Error(`still ${JSON.stringify(v)} after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const pipeline = async (spec: object) => {
    const r = await api('POST', '/pipelines', { spec });
    expect(r.status, r.text).toBe(201);
    return r.body.id as string;
  };

  beforeAll(async () => {
    p = await testPlatform(name);
    app = await buildApp(p, { uiDir: false });
    // More room on the worker than the backfill may use: the backfill's limit is what holds.
    worker = await startWorker(p, { concurrency: 4, killGraceMs: 1000 });
    api = apiCaller(
      () => app,
      () => p.adminToken,
    );
    const token = await tokenFor(p, 'viewer');
    viewer = apiCaller(
      () => app,
      () => token,
    );
  });
  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await p?.close();
  });

  it('runs a 5-day backfill as exactly 5 jobs with their dates, never more than 2 at once', async () => {
    const trace = join(p.filesDir, 'five.log');
    const id = await pipeline(sleeper('five-days', trace, 1));
    const created = await api('POST', `/pipelines/${id}/backfill`, {
      from: '2026-11-01',
      to: '2026-11-06',
      every: 'day',
      concurrency: 2,
      params: {},
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      pipelineId: id,
      every: 'day',
      concurrency: 2,
      status: 'running',
      intervalParameters: ['date', 'end'],
      progress: { total: 5, waiting: 3, queued: 2 },
    });
    const bid = created.body.id as string;
    // Sampled from the database as well as traced by the runs themselves.
    let most = 0;
    const done = await until(
      async () => {
        const rows = await p.database.db
          .select({ status: jobExecutions.status })
          .from(jobExecutions)
          .where(eq(jobExecutions.backfillId, bid));
        most = Math.max(most, rows.filter((r) => ['pending', 'queued', 'running'].includes(r.status)).length);
        return (await api('GET', `/backfills/${bid}`)).body;
      },
      (b) => b.status !== 'running',
    );
    expect(done.status).toBe('success');
    expect(done.progress).toEqual({
      total: 5,
      waiting: 0,
      queued: 0,
      running: 0,
      succeeded: 5,
      failed: 0,
      cancelled: 0,
    });
    expect(done.jobs).toHaveLength(5);
    expect(done.jobs.map((j: { parameters: { date: string } }) => j.parameters.date).sort()).toEqual([
      '2026-11-01',
      '2026-11-02',
      '2026-11-03',
      '2026-11-04',
      '2026-11-05',
    ]);
    expect(done.jobs[0]).toMatchObject({
      triggerType: 'backfill',
      backfillId: bid,
      parameters: { end: '2026-11-02' },
    });
    expect(most).toBeLessThanOrEqual(2);
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(10);
    expect(maxOverlap(lines), lines.join('\n')).toBe(2);
    expect(
      lines
        .filter((l) => l.startsWith('start'))
        .map((l) => l.split(' ')[2])
        .sort(),
    ).toEqual(done.jobs.map((j: { parameters: { date: string } }) => j.parameters.date).sort());

    const list = await viewer('GET', `/pipelines/${id}/backfills`);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ total: 1, items: [{ id: bid, status: 'success' }] });
    const [audited] = await p.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'pipeline.backfill'), eq(auditLog.resourceId, id)));
    expect(audited).toMatchObject({ username: 'admin', resourceType: 'pipeline' });
  });

  it('cancel stops the running job and starts none of the rest', async () => {
    const id = await pipeline(sleeper('cancel-me', join(p.filesDir, 'cancel.log'), 30));
    const b = (
      await api('POST', `/pipelines/${id}/backfill`, { from: '2026-11-01', to: '2026-11-06', every: 'day' })
    ).body;
    expect(b.concurrency).toBe(1);
    await until(
      async () => (await api('GET', `/backfills/${b.id}`)).body.progress.running,
      (n) => n === 1,
    );
    expect((await viewer('POST', `/backfills/${b.id}/cancel`)).status, 'a viewer may not cancel').toBe(403);
    const cancelled = await api('POST', `/backfills/${b.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const after = await until(
      async () => (await api('GET', `/backfills/${b.id}`)).body,
      (v) => v.progress.running === 0,
    );
    expect(after.progress).toEqual({
      total: 5,
      waiting: 0,
      queued: 0,
      running: 0,
      succeeded: 0,
      failed: 0,
      cancelled: 5,
    });
    await new Promise((r) => setTimeout(r, 1500));
    const jobs = (await api('GET', `/backfills/${b.id}`)).body.jobs;
    expect(jobs.map((j: { status: string }) => j.status)).toEqual(['cancelled']);
    expect((await api('POST', `/backfills/${b.id}/cancel`)).status).toBe(409);
  });

  it('refuses a pipeline without a date parameter, and bad ranges, at their place', async () => {
    const id = await pipeline({
      name: 'no-date',
      steps: [{ id: 'x', task: 'shell', with: { command: ['true'] } }],
    });
    const r = await api('POST', `/pipelines/${id}/backfill`, {
      from: '2026-11-01',
      to: '2026-11-03',
      every: 'day',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/declares none of the parameters date, start, end/);
    const dated = await pipeline(sleeper('dated', join(p.filesDir, 'x.log'), 0));
    const bad = await api('POST', `/pipelines/${dated}/backfill`, {
      from: '2026-11-05',
      to: '2026-12-01',
      every: 'week',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([
      {
        path: 'body.from',
        message:
          '"2026-11-05" is not the start of a week (weeks start on Monday) in UTC: start at 2026-11-02 or 2026-11-09',
      },
    ]);
    const clash = await api('POST', `/pipelines/${dated}/backfill`, {
      from: '2026-11-01',
      to: '2026-11-02',
      every: 'day',
      params: { date: 'x' },
    });
    expect(clash.body.error.details[0].path).toBe('body.params.date');
    expect(
      (
        await viewer('POST', `/pipelines/${dated}/backfill`, {
          from: '2026-11-01',
          to: '2026-11-02',
          every: 'day',
        })
      ).status,
    ).toBe(403);
  });

  it("backfills a schedule's missed slots with the schedule's parameters", async () => {
    const id = await pipeline({
      ...sleeper('scheduled', join(p.filesDir, 'sched.log'), 0),
      parameters: {
        type: 'object',
        // Defaults: the schedule's own runs do not set them (its parameters must be valid without).
        properties: {
          date: { type: 'string', default: 'latest' },
          end: { type: 'string', default: '' },
          region: { type: 'string' },
        },
      },
    });
    const s = await api('POST', '/schedules', {
      pipelineId: id,
      cron: '0 3 * * *',
      parameters: { region: 'eu' },
    });
    expect(s.status).toBe(201);
    const r = await api('POST', `/schedules/${s.body.id}/backfill`, {
      from: '2026-11-01T03:00:00Z',
      to: '2026-11-04T12:00:00Z',
      concurrency: 3,
    });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ scheduleId: s.body.id, every: 'schedule', progress: { total: 3 } });
    const done = await until(
      async () => (await api('GET', `/backfills/${r.body.id}`)).body,
      (b) => b.status !== 'running',
    );
    expect(done.status).toBe('success');
    expect(done.jobs.map((j: { parameters: unknown }) => j.parameters)).toEqual(
      expect.arrayContaining([
        { region: 'eu', date: '2026-11-02', end: '2026-11-03T03:00:00Z' },
        { region: 'eu', date: '2026-11-03', end: '2026-11-04T03:00:00Z' },
        { region: 'eu', date: '2026-11-04', end: '2026-11-05T03:00:00Z' },
      ]),
    );
  });
});
