import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type App, buildApp } from '../src/api/app.ts';
import { schedules } from '../src/db/schema.ts';
import { executePipeline, listJobs, listSteps } from '../src/services/jobs.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { createSchedule, runDueSchedules } from '../src/services/schedules.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { backends } from './helpers/backends.ts';
import { type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

describe.each(backends)('runs on $name: dead letters, schedules, live events', ({ name }) => {
  let p: TestPlatform;
  let worker: Worker;
  let app: App;
  let base: string;
  beforeAll(async () => {
    p = await testPlatform(name, { jobAttempts: 2 });
    worker = await startWorker(p, { killGraceMs: 1000 });
    app = await buildApp(p);
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await worker.stop();
    await app.close();
    await p.close();
  });

  it('retries a failing job with backoff, then moves it to the dead-letter queue; requeue runs it again', async () => {
    const flag = join(p.filesDir, 'dlq-fixed');
    const pipeline = await createPipeline(
      p,
      {
        spec: {
          name: 'doomed',
          steps: [{ id: 'check', task: 'shell', with: { command: ['test', '-e', flag] } }],
        },
      },
      null,
    );
    const jobId = await executePipeline(p, pipeline.id, { triggerType: 'api' });
    const failed = await waitForJob(p, jobId, (s) => s === 'failed', 60_000);
    expect(failed.attempt).toBe(2);
    expect(failed.deadLetteredAt).not.toBeNull();
    const dlq = (await (await fetch(`${base}/api/v1/dlq`, { headers: p.auth })).json()) as {
      items: { id: string; pipelineName?: string }[];
    };
    // Issue 15: entries name their pipeline, as the page links it.
    expect(dlq.items.find((j) => j.id === jobId)).toMatchObject({ pipelineName: 'doomed' });
    writeFileSync(flag, '');
    const requeued = await fetch(`${base}/api/v1/dlq/${jobId}/requeue`, { method: 'POST', headers: p.auth });
    expect(requeued.status).toBe(202);
    const done = await waitForJob(p, jobId, (s) => s === 'success' || s === 'failed');
    expect(done).toMatchObject({ status: 'success', attempt: 3, deadLetteredAt: null });
  });

  it('does not retry a failure no attempt can fix', async () => {
    const pipeline = await createPipeline(
      p,
      {
        spec: {
          name: 'strict',
          steps: [
            {
              id: 'load',
              maxQuarantine: 0,
              flow: [
                { source: 'csv', with: { path: 'bad.csv' } },
                { sink: 'ndjson', with: { path: 'strict.ndjson' } },
              ],
            },
          ],
        },
      },
      null,
    );
    writeFileSync(join(p.filesDir, 'bad.csv'), 'a,b\n1,2\n3\n');
    const jobId = await executePipeline(p, pipeline.id, { triggerType: 'api' });
    const job = await waitForJob(p, jobId);
    expect(job).toMatchObject({
      status: 'failed',
      attempt: 1,
      deadLetteredAt: null,
      error: { code: 'QUARANTINE_LIMIT' },
    });
    // The bad row is kept, with its line, as an artifact of the job.
    const q = await fetch(`${base}/api/v1/jobs/${jobId}/artifacts/load.quarantine.ndjson`, {
      headers: p.auth,
    });
    expect(q.status).toBe(200);
    expect(JSON.parse((await q.text()).trim())).toMatchObject({ step: 'load', line: 3, raw: '3' });
  });

  it('starts due schedules, and after downtime skips or runs once by policy', async () => {
    const pipeline = await createPipeline(
      p,
      { spec: { name: 'hourly', steps: [{ id: 't', task: 'shell', with: { command: ['true'] } }] } },
      null,
    );
    const now = new Date();
    const due = await createSchedule(p, { pipelineId: pipeline.id, cron: '* * * * *' });
    const skip = await createSchedule(p, {
      pipelineId: pipeline.id,
      cron: '0 * * * *',
      missedPolicy: 'skip',
    });
    const once = await createSchedule(p, {
      pipelineId: pipeline.id,
      cron: '0 * * * *',
      missedPolicy: 'run_once',
    });
    const set = (id: string, at: Date) =>
      p.database.db.update(schedules).set({ nextRunAt: at }).where(eq(schedules.id, id));
    await set(due.id, new Date(now.getTime() - 5_000)); // a tick late
    await set(skip.id, new Date(now.getTime() - 5 * 3600_000)); // the server was down for hours
    await set(once.id, new Date(now.getTime() - 5 * 3600_000));
    const jobs = await runDueSchedules(p, now);
    expect(jobs).toHaveLength(2);
    const listed = await listJobs(p, { limit: 10, offset: 0, pipelineId: pipeline.id });
    expect(new Set(listed.items.map((j) => j.scheduleId))).toEqual(new Set([due.id, once.id]));
    expect(listed.items.every((j) => j.triggerType === 'scheduled')).toBe(true);
    const rows = await p.database.db.select().from(schedules).where(eq(schedules.pipelineId, pipeline.id));
    for (const r of rows) expect(r.nextRunAt!.getTime()).toBeGreaterThan(now.getTime());
    expect(await runDueSchedules(p, now)).toEqual([]);
    for (const id of jobs) await waitForJob(p, id);
  });

  it('streams a job’s status, logs and completion over the WebSocket', async () => {
    const pipeline = await createPipeline(
      p,
      {
        spec: {
          name: 'live',
          steps: [{ id: 'say', task: 'shell', with: { command: ['echo', 'hello live'] } }],
        },
      },
      null,
    );
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/ws?token=${p.adminToken}`);
    await new Promise((r) => ws.once('open', r));
    const got: { type: string; channel: string; payload: Record<string, unknown> }[] = [];
    const complete = new Promise<void>((resolve) =>
      ws.on('message', (raw) => {
        const m = JSON.parse(String(raw));
        got.push(m);
        if (m.type === 'complete') resolve();
      }),
    );
    ws.send(JSON.stringify({ type: 'subscribe', channel: `pipeline:${pipeline.id}` }));
    ws.send(JSON.stringify({ type: 'subscribe', channel: 'nonsense' }));
    await new Promise((r) => setTimeout(r, 200));
    const jobId = await executePipeline(p, pipeline.id, { triggerType: 'manual' });
    const jobSub = JSON.stringify({ type: 'subscribe', channel: `job:${jobId}` });
    ws.send(jobSub);
    await complete;
    ws.close();
    expect(got.find((m) => m.type === 'error')?.payload.message).toMatch(/unknown channel "nonsense"/);
    const complete1 = got.find((m) => m.type === 'complete')!;
    expect(complete1.payload).toMatchObject({
      jobId,
      status: 'success',
      summary: { stepsTotal: 1, stepsSuccess: 1 },
    });
    expect(got.some((m) => m.type === 'status' && m.payload.status === 'running')).toBe(true);
    // Logs go to the job's channel only.
    const logs = got.filter((m) => m.type === 'log');
    expect(logs.every((m) => m.channel === `job:${jobId}`)).toBe(true);
    expect((await listSteps(p, jobId))[0]!.status).toBe('success');
  });
});
