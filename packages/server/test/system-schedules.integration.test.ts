import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { jobExecutions, schedules } from '../src/db/schema.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { applyRetention } from '../src/services/retention.ts';
import { runDueSchedules } from '../src/services/schedules.ts';
import { ensureSystemSchedules, rollupRuns } from '../src/services/system-tasks.ts';
import { apiCaller, type TestPlatform, testPlatform } from './helpers/platform.ts';

let p: TestPlatform;
let app: App;
beforeAll(async () => {
  p = await testPlatform('pglite');
  app = await buildApp(p, { rateLimit: 100_000 });
  await ensureSystemSchedules(p, 30);
});
afterAll(async () => {
  await app?.close();
  await p?.close();
});
const call = apiCaller(
  () => app,
  () => p.adminToken,
);
const HOUR = 3_600_000;

async function oldJob(pipelineId: string, status: 'success' | 'failed', createdAt: Date) {
  const [j] = await p.database.db
    .insert(jobExecutions)
    .values({
      pipelineId,
      pipelineVersion: 1,
      status,
      triggerType: 'manual',
      createdAt,
      completedAt: createdAt,
      durationMs: 1000,
    })
    .returning();
  return j!.id;
}

it('lists the platform’s maintenance as schedules that can be re-timed and paused, not deleted', async () => {
  const list = await call('GET', '/schedules');
  const system = list.body.items.filter((s: { task: string | null }) => s.task);
  expect(system.map((s: { task: string }) => s.task).sort()).toEqual(['retention', 'rollup', 'vacuum']);
  const retention = system.find((s: { task: string }) => s.task === 'retention');
  expect(retention).toMatchObject({ pipelineId: null, cron: '47 3 * * *', parameters: { days: 30 } });

  const changed = await call('PUT', `/schedules/${retention.id}`, {
    cron: '0 4 * * 0',
    parameters: { days: 7 },
  });
  expect(changed.status).toBe(200);
  expect(changed.body).toMatchObject({ cron: '0 4 * * 0', parameters: { days: 7 } });
  expect((await call('POST', `/schedules/${retention.id}/pause`)).body.paused).toBe(true);
  await call('POST', `/schedules/${retention.id}/resume`);
  const del = await call('DELETE', `/schedules/${retention.id}`);
  expect(del.status).toBe(409);
  expect(del.body.error.message).toMatch(/cannot be deleted/);
  // Starting again keeps what was edited, and adds no second copy.
  await ensureSystemSchedules(p, 30);
  const again = (await call('GET', '/schedules')).body.items.filter(
    (s: { task: string }) => s.task === 'retention',
  );
  expect(again).toHaveLength(1);
  expect(again[0]).toMatchObject({ cron: '0 4 * * 0', parameters: { days: 7 } });
});

it('runs a due system task in the server, not as a job', async () => {
  const pipeline = await createPipeline(
    p,
    { spec: { name: 'aged', steps: [{ id: 's', task: 'shell', with: { command: ['true'] } }] } },
    null,
  );
  const now = new Date();
  const ancient = await oldJob(pipeline.id, 'success', new Date(now.getTime() - 10 * 86_400_000));
  const fresh = await oldJob(pipeline.id, 'success', new Date(now.getTime() - HOUR));
  await p.database.db
    .update(schedules)
    .set({ nextRunAt: new Date(now.getTime() - 1000) })
    .where(eq(schedules.task, 'retention'));
  const started = await runDueSchedules(p, now);
  expect(started).toEqual([]); // no job for a system task
  const left = (await p.database.db.select({ id: jobExecutions.id }).from(jobExecutions)).map((j) => j.id);
  expect(left).toContain(fresh);
  expect(left).not.toContain(ancient); // days: 7 from the edit above
  const [s] = await p.database.db.select().from(schedules).where(eq(schedules.task, 'retention'));
  expect(s!.lastRunAt?.getTime()).toBe(now.getTime());
  expect(s!.nextRunAt!.getTime()).toBeGreaterThan(now.getTime());
});

it('rolls runs up per hour, so the dashboard keeps them after retention deletes the jobs', async () => {
  const pipeline = await createPipeline(
    p,
    { spec: { name: 'rolled', steps: [{ id: 's', task: 'shell', with: { command: ['true'] } }] } },
    null,
  );
  const top = Math.floor(Date.now() / HOUR) * HOUR;
  const fiveAgo = new Date(top - 5 * HOUR + 60_000);
  await oldJob(pipeline.id, 'success', fiveAgo);
  await oldJob(pipeline.id, 'success', fiveAgo);
  await oldJob(pipeline.id, 'failed', fiveAgo);
  expect(await rollupRuns(p)).toBeGreaterThan(0);
  const [row] = await p.database.query<{
    jobs: number;
    success: number;
    failed: number;
    duration_ms_sum: string;
  }>('SELECT jobs, success, failed, duration_ms_sum::text FROM run_rollups WHERE pipeline_id = $1', [
    pipeline.id,
  ]);
  expect(row).toEqual({ jobs: 3, success: 2, failed: 1, duration_ms_sum: '3000' });
  await applyRetention(p, 1 / 24); // everything older than an hour
  const summary = await call('GET', '/metrics/summary');
  const hour = summary.body.hourly.find(
    (h: { hour: string }) => h.hour === new Date(top - 5 * HOUR).toISOString(),
  );
  expect(hour).toMatchObject({ success: 2, failed: 1, total: 3 });
  // A second pass recomputes, it does not add.
  await rollupRuns(p);
  const [again] = await p.database.query<{ jobs: number }>(
    'SELECT jobs FROM run_rollups WHERE pipeline_id = $1',
    [pipeline.id],
  );
  expect(again!.jobs).toBe(3);
});
