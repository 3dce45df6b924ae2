import { ConfigError, ErrorCode, type Issue, SluiceError, toSluiceError } from '@sluice/core';
import { and, asc, count, desc, eq, inArray } from 'drizzle-orm';
import { conflict, notFound } from '../api/errors.ts';
import {
  type Backfill,
  type BackfillStatus,
  backfills,
  type JobExecution,
  type JobStatus,
  jobExecutions,
} from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import type { Every, Interval } from '../scheduler/intervals.ts';
import { cancelJob, insertJob, jobView, type PlannedJob, planJob } from './jobs.ts';
import { livePipeline } from './pipelines.ts';

/** The parameters a backfill sets per interval; a pipeline must declare at least one. */
export const INTERVAL_PARAMS = ['date', 'start', 'end'] as const;

const ACTIVE: JobStatus[] = ['pending', 'queued', 'running'];
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export interface BackfillInput {
  pipelineId: string;
  intervals: Interval[];
  every: Every | 'schedule';
  from: string;
  to: string;
  timezone: string;
  /** Jobs of the backfill queued or running at once. @defaultValue 1 */
  concurrency?: number;
  parameters?: Record<string, unknown>;
  scheduleId?: string | null;
}

export interface Progress {
  total: number;
  /** Intervals without a job yet: they wait for a free slot. */
  waiting: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

type Counts = Partial<Record<JobStatus, number>>;

function progressOf(b: Backfill, counts: Counts): Progress {
  const total = (b.intervals as Interval[]).length;
  const waiting = total - b.cursor;
  const n = (s: JobStatus) => counts[s] ?? 0;
  // A cancelled backfill's waiting intervals never run: they count as cancelled.
  const gone = b.status === 'running' ? 0 : waiting;
  return {
    total,
    waiting: waiting - gone,
    queued: n('pending') + n('queued'),
    running: n('running'),
    succeeded: n('success'),
    failed: n('failed') + n('timeout'),
    cancelled: n('cancelled') + gone,
  };
}

export function backfillView(b: Backfill, counts: Counts) {
  return {
    id: b.id,
    pipelineId: b.pipelineId,
    pipelineVersion: b.pipelineVersion,
    scheduleId: b.scheduleId,
    every: b.every,
    timezone: b.timezone,
    from: b.rangeFrom,
    to: b.rangeTo,
    concurrency: b.concurrency,
    parameters: b.parameters,
    intervalParameters: b.intervalParams,
    status: b.status,
    error: b.error,
    createdBy: b.createdBy,
    createdAt: b.createdAt.toISOString(),
    completedAt: iso(b.completedAt),
    progress: progressOf(b, counts),
  };
}

export type BackfillView = ReturnType<typeof backfillView>;

/** Which of date/start/end the pipeline's parameter schema declares. */
function declaredIntervalParams(schema: unknown): string[] {
  const props = (schema as { properties?: Record<string, unknown> } | null)?.properties ?? {};
  return INTERVAL_PARAMS.filter((k) => k in props);
}

/** The parameters of interval `i`: the backfill's own, and the interval's the pipeline declares. */
function paramsAt(b: Pick<Backfill, 'parameters' | 'intervalParams' | 'intervals'>, i: number) {
  const interval = (b.intervals as Interval[])[i]!;
  const own = Object.fromEntries(b.intervalParams.map((k) => [k, interval[k as keyof Interval]]));
  return { ...(b.parameters as Record<string, unknown>), ...own };
}

/**
 * Creates a backfill of a pipeline's current version and starts its first jobs. Refused when the
 * pipeline declares none of date/start/end (each run would be the same run), when the parameters
 * try to set those, when the pipeline streams from a queue, or when the first interval's
 * parameters do not fit the pipeline's schema.
 */
export async function createBackfill(
  p: Platform,
  input: BackfillInput,
  actor: string | null,
): Promise<BackfillView> {
  const pipeline = await livePipeline(p, input.pipelineId);
  const declared = declaredIntervalParams(pipeline.parameters);
  if (declared.length === 0) {
    throw new SluiceError(
      ErrorCode.VALIDATION,
      `pipeline "${pipeline.name}" declares none of the parameters ${INTERVAL_PARAMS.join(', ')}: a backfill sets them ` +
        'per interval, so without them every run would be the same. Declare one in the spec ' +
        '(parameters: {properties: {date: {type: string}}}) and use it as ${params.date}',
      { issues: [{ path: 'parameters', message: 'declares none of date, start, end' }] },
    );
  }
  const parameters = input.parameters ?? {};
  const clash: Issue[] = INTERVAL_PARAMS.filter((k) => k in parameters).map((k) => ({
    path: `body.params.${k}`,
    message: `is set by the backfill for each interval; remove it`,
  }));
  if (clash.length > 0) throw new ConfigError('invalid backfill parameters', clash, ErrorCode.PARAMS);
  if (input.intervals.length === 0)
    throw new ConfigError('invalid backfill', [
      {
        path: input.scheduleId ? 'schedule' : 'body.from',
        message: 'the range holds no interval: nothing to run',
      },
    ]);
  const row = {
    parameters,
    intervalParams: declared,
    intervals: input.intervals,
  };
  // Checked now, for the first interval, so a bad parameter is the request's error, not N failed jobs.
  const first = await planJob(p, pipeline.id, pipeline.currentVersion, paramsAt(row, 0));
  if (first.streams.length > 0)
    throw conflict(
      `pipeline "${pipeline.name}" streams from a queue (step "${first.streams[0]}"): its job never ends, so it cannot run once per interval`,
    );
  const [b] = await p.database.db
    .insert(backfills)
    .values({
      pipelineId: pipeline.id,
      pipelineVersion: pipeline.currentVersion,
      scheduleId: input.scheduleId ?? null,
      every: input.every,
      timezone: input.timezone,
      rangeFrom: input.from,
      rangeTo: input.to,
      concurrency: input.concurrency ?? 1,
      ...row,
      createdBy: actor,
    })
    .returning();
  await pumpBackfill(p, b!.id, actor);
  return getBackfill(p, b!.id);
}

async function jobCounts(p: Platform, backfillId: string): Promise<Counts> {
  const rows = await p.database.db
    .select({ status: jobExecutions.status, n: count() })
    .from(jobExecutions)
    .where(eq(jobExecutions.backfillId, backfillId))
    .groupBy(jobExecutions.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

const activeOf = (c: Counts) => ACTIVE.reduce((a, s) => a + (c[s] ?? 0), 0);

/**
 * Starts the backfill's next jobs while fewer than `concurrency` are queued or running, and ends
 * it once every interval's job has finished. Called when it is made, when one of its jobs ends,
 * and by the scheduler's tick (which also picks it up after a restart). The jobs are planned
 * before the transaction (planning reads the spec with the outer handle, which deadlocks PGlite
 * inside a transaction); the row lock then decides which of them are still due, so two callers
 * at once never give an interval two jobs.
 */
export async function pumpBackfill(p: Platform, id: string, actor: string | null = null): Promise<string[]> {
  const [seen] = await p.database.db.select().from(backfills).where(eq(backfills.id, id));
  if (seen?.status !== 'running') return [];
  const total = (seen.intervals as Interval[]).length;
  const room = Math.max(0, seen.concurrency - activeOf(await jobCounts(p, id)));
  const planned = new Map<number, PlannedJob>();
  try {
    for (let i = seen.cursor; i < Math.min(total, seen.cursor + room); i++)
      planned.set(i, await planJob(p, seen.pipelineId, seen.pipelineVersion, paramsAt(seen, i)));
  } catch (err) {
    await failBackfill(
      p,
      id,
      `interval ${seen.cursor + planned.size + 1} could not be planned: ${toSluiceError(err).message}`,
    );
    return [];
  }
  const made = await p.database.db.transaction(async (tx) => {
    const [b] = await tx.select().from(backfills).where(eq(backfills.id, id)).for('update');
    if (b?.status !== 'running') return [];
    const rows = await tx
      .select({ status: jobExecutions.status, n: count() })
      .from(jobExecutions)
      .where(eq(jobExecutions.backfillId, id))
      .groupBy(jobExecutions.status);
    const counts: Counts = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    const active = activeOf(counts);
    if (b.cursor >= total) {
      if (active === 0) {
        const done = counts.success ?? 0;
        await tx
          .update(backfills)
          .set({
            status: done === total ? 'success' : 'failed',
            completedAt: new Date(),
            ...(done === total ? {} : { error: `${total - done} of ${total} runs did not succeed` }),
          })
          .where(eq(backfills.id, id));
      }
      return [];
    }
    const ids: string[] = [];
    let cursor = b.cursor;
    while (cursor < total && active + ids.length < b.concurrency && planned.has(cursor)) {
      ids.push(
        await insertJob(p, tx, planned.get(cursor)!, {
          triggerType: 'backfill',
          triggeredBy: actor ?? b.createdBy ?? `backfill:${id}`,
          backfillId: id,
          scheduleId: b.scheduleId,
        }),
      );
      cursor++;
    }
    if (cursor !== b.cursor) await tx.update(backfills).set({ cursor }).where(eq(backfills.id, id));
    return ids;
  });
  for (const jobId of made)
    p.bus.emit(seen.pipelineId, { type: 'status', payload: { jobId, status: 'queued' } });
  return made;
}

async function failBackfill(p: Platform, id: string, error: string): Promise<void> {
  await p.database.db
    .update(backfills)
    .set({ status: 'failed', error, completedAt: new Date() })
    .where(and(eq(backfills.id, id), eq(backfills.status, 'running')));
  p.log.error({ backfillId: id }, `backfill ${id} stopped: ${error}`);
}

/** Pumps every running backfill: the scheduler's tick, so none stalls after a restart or a lost hook. */
export async function pumpBackfills(p: Platform): Promise<void> {
  const running = await p.database.db
    .select({ id: backfills.id })
    .from(backfills)
    .where(eq(backfills.status, 'running'));
  for (const { id } of running) {
    await pumpBackfill(p, id).catch((err: Error) =>
      p.log.error({ backfillId: id, err }, `backfill ${id} could not start its next jobs: ${err.message}`),
    );
  }
}

/** The hook of a job's end (or cancel): its backfill's next interval may start. Never throws. */
export async function afterBackfillJob(p: Platform, backfillId: string | null): Promise<void> {
  if (!backfillId) return;
  await pumpBackfill(p, backfillId).catch((err: Error) =>
    p.log.error({ backfillId, err }, `backfill ${backfillId} could not start its next jobs: ${err.message}`),
  );
}

async function getRow(p: Platform, id: string): Promise<Backfill> {
  const [b] = await p.database.db.select().from(backfills).where(eq(backfills.id, id));
  if (!b) throw notFound('backfill', id);
  return b;
}

export async function getBackfill(p: Platform, id: string): Promise<BackfillView> {
  const b = await getRow(p, id);
  return backfillView(b, await jobCounts(p, id));
}

/** A backfill with its jobs, in interval order. */
export async function getBackfillDetail(p: Platform, id: string) {
  const view = await getBackfill(p, id);
  const rows = await p.database.db
    .select()
    .from(jobExecutions)
    .where(eq(jobExecutions.backfillId, id))
    .orderBy(asc(jobExecutions.createdAt));
  // Jobs made in one transaction share a creation time: their interval parameter orders them (ISO
  // dates and times of one zone sort as they fall).
  const key = view.intervalParameters[0]!;
  const at = (j: JobExecution) => String((j.parameters as Record<string, unknown>)[key] ?? '');
  const jobs = rows.sort(
    (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || at(a).localeCompare(at(b)),
  );
  return { ...view, jobs: jobs.map(jobView) };
}

export async function listBackfills(p: Platform, q: { pipelineId: string; limit: number; offset: number }) {
  await livePipeline(p, q.pipelineId);
  const where = eq(backfills.pipelineId, q.pipelineId);
  const rows = await p.database.db
    .select()
    .from(backfills)
    .where(where)
    .orderBy(desc(backfills.createdAt))
    .limit(q.limit)
    .offset(q.offset);
  const [total] = await p.database.db.select({ n: count() }).from(backfills).where(where);
  const ids = rows.map((r) => r.id);
  const counts = ids.length
    ? await p.database.db
        .select({ id: jobExecutions.backfillId, status: jobExecutions.status, n: count() })
        .from(jobExecutions)
        .where(inArray(jobExecutions.backfillId, ids))
        .groupBy(jobExecutions.backfillId, jobExecutions.status)
    : [];
  const of = (id: string): Counts =>
    Object.fromEntries(counts.filter((c) => c.id === id).map((c) => [c.status, c.n]));
  return { items: rows.map((b) => backfillView(b, of(b.id))), total: total!.n };
}

/** Stops a backfill: no more jobs start, and its queued and running jobs are cancelled. */
export async function cancelBackfill(p: Platform, id: string): Promise<BackfillView> {
  const [b] = await p.database.db
    .update(backfills)
    .set({ status: 'cancelled' satisfies BackfillStatus, completedAt: new Date() })
    .where(and(eq(backfills.id, id), eq(backfills.status, 'running')))
    .returning();
  if (!b) {
    const row = await getRow(p, id);
    throw conflict(`backfill ${id} is ${row.status} already; nothing to cancel`);
  }
  const active = await p.database.db
    .select({ id: jobExecutions.id })
    .from(jobExecutions)
    .where(and(eq(jobExecutions.backfillId, id), inArray(jobExecutions.status, ACTIVE)));
  for (const j of active) {
    // One that finished meanwhile has nothing left to cancel.
    await cancelJob(p, j.id).catch((err) => {
      if (toSluiceError(err).code !== ErrorCode.CONFLICT) throw err;
    });
  }
  return getBackfill(p, id);
}
