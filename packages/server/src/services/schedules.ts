import { and, count, eq, isNull, lte } from 'drizzle-orm';
import { conflict, notFound } from '../api/errors.ts';
import { pipelines, type Schedule, schedules } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { decide, type MissedPolicy, nextRun, nextRuns } from '../scheduler/cron.ts';
import { startAlerts } from './alerts.ts';
import { pumpBackfills } from './backfills.ts';
import { executePipeline } from './jobs.ts';
import { getSpec, livePipeline, planStored } from './pipelines.ts';
import { runSystemTask } from './system-tasks.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function scheduleView(s: Schedule, now = new Date()) {
  return {
    id: s.id,
    pipelineId: s.pipelineId,
    task: s.task,
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    parameters: s.parameters,
    paused: s.paused,
    missedPolicy: s.missedPolicy,
    lastRunAt: iso(s.lastRunAt),
    nextRunAt: s.paused ? null : iso(s.nextRunAt),
    nextRuns: s.paused ? [] : nextRuns(s.cron, s.timezone, now, 5).map((d) => d.toISOString()),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

export interface ScheduleInput {
  pipelineId: string;
  name?: string;
  cron: string;
  timezone?: string;
  parameters?: Record<string, unknown>;
  paused?: boolean;
  missedPolicy?: MissedPolicy;
}

// The schedule's parameters must be valid for the pipeline now, not first at 3 a.m.
async function checkParameters(p: Platform, pipelineId: string, parameters: Record<string, unknown>) {
  const pipeline = await livePipeline(p, pipelineId);
  const spec = await getSpec(p, pipelineId, pipeline.currentVersion);
  planStored(p, spec, parameters);
  return pipeline;
}

export async function createSchedule(p: Platform, input: ScheduleInput): Promise<Schedule> {
  const timezone = input.timezone ?? 'UTC';
  const next = nextRun(input.cron, timezone, new Date());
  const pipeline = await checkParameters(p, input.pipelineId, input.parameters ?? {});
  const [s] = await p.database.db
    .insert(schedules)
    .values({
      pipelineId: input.pipelineId,
      name: input.name ?? `${pipeline.name} at ${input.cron}`,
      cron: input.cron,
      timezone,
      parameters: input.parameters ?? {},
      paused: input.paused ?? false,
      missedPolicy: input.missedPolicy ?? 'skip',
      nextRunAt: next,
    })
    .returning();
  return s!;
}

export async function getSchedule(p: Platform, id: string): Promise<Schedule> {
  const [s] = await p.database.db.select().from(schedules).where(eq(schedules.id, id));
  if (!s) throw notFound('schedule', id);
  return s;
}

export async function updateSchedule(
  p: Platform,
  id: string,
  input: Partial<ScheduleInput>,
): Promise<Schedule> {
  const old = await getSchedule(p, id);
  if (old.task && input.pipelineId)
    throw conflict(`schedule "${old.name}" runs the platform's ${old.task} task; it cannot run a pipeline`);
  const merged = { ...old, ...input, timezone: input.timezone ?? old.timezone };
  const next = nextRun(merged.cron, merged.timezone, new Date());
  if (merged.pipelineId)
    await checkParameters(p, merged.pipelineId, (merged.parameters ?? {}) as Record<string, unknown>);
  const [s] = await p.database.db
    .update(schedules)
    .set({
      pipelineId: merged.pipelineId,
      name: merged.name,
      cron: merged.cron,
      timezone: merged.timezone,
      parameters: merged.parameters,
      paused: merged.paused,
      missedPolicy: merged.missedPolicy,
      nextRunAt: next,
      updatedAt: new Date(),
    })
    .where(eq(schedules.id, id))
    .returning();
  return s!;
}

/** Resuming starts from now: runs missed while paused are not made up. */
export async function setPaused(p: Platform, id: string, paused: boolean): Promise<Schedule> {
  const s = await getSchedule(p, id);
  const [u] = await p.database.db
    .update(schedules)
    .set({
      paused,
      updatedAt: new Date(),
      ...(paused ? {} : { nextRunAt: nextRun(s.cron, s.timezone, new Date()) }),
    })
    .where(eq(schedules.id, id))
    .returning();
  return u!;
}

export async function deleteSchedule(p: Platform, id: string): Promise<void> {
  const s = await getSchedule(p, id);
  if (s.task)
    throw conflict(
      `"${s.name}" is one of the platform's own schedules: pause it or change its time, it cannot be deleted`,
    );
  await p.database.db.delete(schedules).where(eq(schedules.id, id));
}

export async function listSchedules(p: Platform, q: { limit: number; offset: number; pipelineId?: string }) {
  const where = q.pipelineId ? eq(schedules.pipelineId, q.pipelineId) : undefined;
  const rows = await p.database.db
    .select()
    .from(schedules)
    .where(where)
    .orderBy(schedules.name)
    .limit(q.limit)
    .offset(q.offset);
  const [total] = await p.database.db.select({ n: count() }).from(schedules).where(where);
  return { items: rows.map((s) => scheduleView(s)), total: total!.n };
}

/**
 * Starts the runs that are due. The rows are claimed with SKIP LOCKED and moved to their next
 * time in one transaction, so several server processes never start one slot twice; the jobs are
 * created after that commit (a crash in between loses that one run rather than doubling it).
 */
export async function runDueSchedules(p: Platform, now = new Date(), graceMs = 60_000): Promise<string[]> {
  const fire = await p.database.db.transaction(async (tx) => {
    const due = await tx
      .select({ s: schedules })
      .from(schedules)
      // System tasks have no pipeline: a left join keeps them (their deletedAt reads as null).
      .leftJoin(pipelines, eq(pipelines.id, schedules.pipelineId))
      .where(and(eq(schedules.paused, false), lte(schedules.nextRunAt, now), isNull(pipelines.deletedAt)))
      .for('update', { of: schedules, skipLocked: true });
    const out: Schedule[] = [];
    for (const { s } of due) {
      const d = decide({ ...s, nextRunAt: s.nextRunAt }, now, graceMs);
      await tx
        .update(schedules)
        .set({ nextRunAt: d.next, ...(d.fire ? { lastRunAt: now } : {}) })
        .where(eq(schedules.id, s.id));
      if (d.fire) out.push(s);
    }
    return out;
  });
  const jobs: string[] = [];
  for (const s of fire) {
    if (s.task) {
      await runSystemTask(p, s, now).then(
        (done) => p.log.info({ scheduleId: s.id, task: s.task }, done),
        (err: Error) =>
          p.log.error({ scheduleId: s.id, task: s.task, err }, `${s.task} failed: ${err.message}`),
      );
      continue;
    }
    try {
      jobs.push(
        await executePipeline(p, s.pipelineId!, {
          parameters: s.parameters as Record<string, unknown>,
          triggerType: 'scheduled',
          triggeredBy: `schedule:${s.id}`,
          scheduleId: s.id,
        }),
      );
    } catch (err) {
      // The pipeline changed under the schedule (its parameters no longer valid, say): this slot
      // is lost, said where an operator looks; the schedule goes on with its next time.
      process.stderr.write(
        `sluice: schedule "${s.name}" (${s.id}) could not start a run: ${(err as Error).message}\n`,
      );
    }
  }
  return jobs;
}

/**
 * Ticks every `everyMs`; returns the function that stops it. The periodic alert evaluation
 * (freshness, failure rates) runs beside it: in every process that runs the scheduler.
 */
export function startScheduler(p: Platform, everyMs = 5000): () => void {
  const stopAlerts = startAlerts(p);
  let busy = false;
  const t = setInterval(() => {
    if (busy) return;
    busy = true;
    runDueSchedules(p)
      .catch(() => undefined)
      // Backfills waiting for a slot go on here too, after a restart or a lost job-end hook.
      .then(() => pumpBackfills(p))
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, everyMs);
  t.unref();
  return () => {
    clearInterval(t);
    stopAlerts();
  };
}
