import { randomBytes } from 'node:crypto';
import { ErrorCode, FatalError, RESOLVED_PLAN_FORMAT, type ResolvedPlan } from '@sluice/core';
import { and, count, desc, eq, gte, inArray, isNotNull, lte, type SQL, sql } from 'drizzle-orm';
import { conflict, notFound } from '../api/errors.ts';
import {
  type JobExecution,
  type JobStatus,
  jobExecutions,
  pipelines,
  type StepExecution,
  stepExecutions,
  stepPartitions,
  type TriggerType,
} from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { enqueueInTransaction, prepareJobQueue, type Tx, withJobQueues } from '../queue/boss.ts';
import { seal, unseal } from '../security/secrets.ts';
import { afterJobEnded } from './after-job.ts';
import { jobRouting, type RoutingColumns } from './job-routing.ts';
import { waitingReasons } from './job-waiting.ts';
import { getSpec, livePipeline, planStored } from './pipelines.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function jobView(j: JobExecution) {
  return {
    id: j.id,
    pipelineId: j.pipelineId,
    pipelineVersion: j.pipelineVersion,
    status: j.status,
    triggerType: j.triggerType,
    triggeredBy: j.triggeredBy,
    scheduleId: j.scheduleId,
    backfillId: j.backfillId,
    parameters: j.parameters,
    createdAt: j.createdAt.toISOString(),
    queuedAt: iso(j.queuedAt),
    startedAt: iso(j.startedAt),
    completedAt: iso(j.completedAt),
    durationMs: j.durationMs,
    workerId: j.workerId,
    attempt: j.attempt,
    maxAttempts: j.maxAttempts,
    error: j.error ?? null,
    integrity: j.integrity ?? null,
    retryOf: j.retryOf,
    replayOf: j.replayOf,
    upstreamJobId: j.upstreamJobId,
    traceId: j.traceId,
    cancelRequested: j.cancelRequestedAt !== null,
    deadLetteredAt: iso(j.deadLetteredAt),
    priority: j.priority,
    concurrency: j.concurrency,
    runsOn: j.runsOn,
  };
}

export function stepView(s: StepExecution) {
  return {
    id: s.id,
    jobId: s.jobId,
    stepId: s.stepId,
    kind: s.kind,
    needs: s.needs,
    status: s.status,
    progress: s.progress,
    attempt: s.attempt,
    startedAt: iso(s.startedAt),
    completedAt: iso(s.completedAt),
    durationMs: s.durationMs,
    rowsRead: s.rowsRead,
    rowsWritten: s.rowsWritten,
    rowsFiltered: s.rowsFiltered,
    rowsQuarantined: s.rowsQuarantined,
    bytes: s.bytes,
    streaming: s.streaming,
    lag: s.lag,
    checkpointedAt: iso(s.checkpointedAt),
    error: s.error ?? null,
    report: s.report ?? null,
  };
}

export interface ExecuteInput {
  parameters?: Record<string, unknown>;
  /** Overrides the spec's `priority` for this job. */
  priority?: number;
  triggerType: TriggerType;
  triggeredBy?: string | null;
  scheduleId?: string | null;
  /** The job whose success started this one (trigger `pipeline`). */
  upstreamJobId?: string | null;
  backfillId?: string | null;
}

/** A job ready to be written: planned and sealed, outside any transaction. */
export interface PlannedJob {
  pipelineId: string;
  pipelineVersion: number;
  plan: ResolvedPlan;
  sealed: string;
  /** Its flow steps reading a queue (streamingSteps). */
  streams: string[];
  /** Where and when its message is taken: priority, the pipeline's concurrency, worker tags. */
  routing: RoutingColumns;
}

/**
 * Plans a version of a pipeline with the run's parameters (validating them) and seals the plan;
 * reads the spec with `tx` when given (the job queue is then prepared by withJobQueues).
 */
export async function planJob(
  p: Platform,
  pipelineId: string,
  version: number,
  parameters: Record<string, unknown>,
  priority?: number,
  tx?: Tx,
): Promise<PlannedJob> {
  const spec = await getSpec(p, pipelineId, version, tx);
  const plan = planStored(p, spec, parameters);
  const streams = streamingSteps(p, plan);
  const routing = jobRouting(spec, plan.steps, priority);
  // A stream runs as one job at a time (see executePipeline): its row says so too, so its worker holds the slot.
  if (streams.length > 0) routing.concurrency = 1;
  // Before any transaction: on PGlite, pg-boss's own handle inside the caller's would wait forever.
  if (!tx) await prepareJobQueue(p.queue, routing.runsOn);
  return { pipelineId, pipelineVersion: version, plan, sealed: await sealPlan(p, plan), streams, routing };
}

/**
 * Writes a planned job, its step rows and its queue message with the caller's transaction: the
 * caller decides what else commits with them.
 */
export async function insertJob(p: Platform, tx: Tx, job: PlannedJob, input: ExecuteInput): Promise<string> {
  const [row] = await tx
    .insert(jobExecutions)
    .values({
      pipelineId: job.pipelineId,
      pipelineVersion: job.pipelineVersion,
      status: 'queued',
      triggerType: input.triggerType,
      triggeredBy: input.triggeredBy ?? null,
      scheduleId: input.scheduleId ?? null,
      backfillId: input.backfillId ?? null,
      upstreamJobId: input.upstreamJobId ?? null,
      ...job.routing,
      parameters: job.plan.params,
      // Planned once, here: the worker and the steps' processes run this, not the spec again.
      plan: job.sealed,
      queuedAt: new Date(),
      maxAttempts: p.jobAttempts,
      // Chosen now, so the worker's spans join it without writing it back.
      traceId: randomBytes(16).toString('hex'),
    })
    .returning();
  await tx.insert(stepExecutions).values(
    job.plan.steps.map((s) => ({
      jobId: row!.id,
      stepId: s.id,
      kind: s.kind,
      needs: [...s.needs],
      streaming: job.streams.includes(s.id),
    })),
  );
  await enqueueInTransaction(p.queue, tx, row!);
  return row!.id;
}

/**
 * Validates the run's parameters against the pipeline's current version, then creates the job,
 * its step rows and its queue message, and announces it, in one transaction: no job without a
 * message, no message without a job.
 */
export async function executePipeline(p: Platform, pipelineId: string, input: ExecuteInput): Promise<string> {
  return withJobQueues(p.database, p.queue, async (tx) => {
    const pipeline = await livePipeline(p, pipelineId, tx);
    const planned = await planJob(
      p,
      pipelineId,
      pipeline.currentVersion,
      input.parameters ?? {},
      input.priority,
      tx,
    );
    const streams = planned.streams;
    if (streams.length > 0) {
      // Two jobs consuming one queue would split its messages and each other's checkpoints: a
      // streaming pipeline runs as one job at a time. The lock makes two concurrent executes wait
      // for each other, in every API process sharing the database.
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`stream:${pipelineId}`}, 0))`);
      const [active] = await tx
        .select({ id: jobExecutions.id, status: jobExecutions.status })
        .from(jobExecutions)
        .where(
          and(
            eq(jobExecutions.pipelineId, pipelineId),
            inArray(jobExecutions.status, ['pending', 'queued', 'running']),
          ),
        )
        .limit(1);
      if (active)
        throw conflict(
          `pipeline "${pipeline.name}" streams from a queue (step "${streams[0]}") and job ${active.id} is ${active.status}: ` +
            'a stream runs as one job at a time; cancel that job first (it drains and acknowledges what it read)',
        );
    }
    const jobId = await insertJob(p, tx, planned, input);
    await p.bus.publishIn(tx, pipelineId, { type: 'status', payload: { jobId, status: 'queued' } });
    return jobId;
  });
}

/** The flow steps of `plan` whose source never ends by itself (a queue: SourceDefinition.streaming). */
export function streamingSteps(p: Platform, plan: ResolvedPlan): string[] {
  return plan.steps.flatMap((s) => {
    if (s.kind !== 'flow') return [];
    // The plan was made with this registry: its source is known.
    return p.registry.get('source', s.source.connector).streaming ? [s.id] : [];
  });
}

/** A plan as a job row stores it: it holds the values of the `${env.…}` variables exposed. */
export const sealPlan = (p: Platform, plan: ResolvedPlan): Promise<string> => seal(p.masterKey, plan);

/**
 * The plan a job runs: the one stored when it was made, or, for a job made before plans were
 * stored, its pipeline version planned now with the job's parameters.
 */
export async function jobPlan(p: Platform, job: JobExecution): Promise<ResolvedPlan> {
  if (job.plan === null)
    return planStored(
      p,
      await getSpec(p, job.pipelineId, job.pipelineVersion),
      job.parameters as Record<string, unknown>,
    );
  const text = JSON.parse(job.plan) as { format?: unknown };
  // A plan stored in clear (by a development build of an hour before plans were sealed) has a format.
  const stored = (
    text.format === undefined ? await unseal(p.masterKey, job.plan, `the plan of job ${job.id}`) : text
  ) as ResolvedPlan;
  if (stored.format !== RESOLVED_PLAN_FORMAT) {
    throw new FatalError(
      `job ${job.id} was planned in format ${String(stored.format)}, which this worker (format ${RESOLVED_PLAN_FORMAT}) cannot run: run it on a worker of the server's version, or run the pipeline again`,
      { code: ErrorCode.SPEC },
    );
  }
  return stored;
}

export async function getJob(p: Platform, id: string): Promise<JobExecution> {
  const [j] = await p.database.db.select().from(jobExecutions).where(eq(jobExecutions.id, id));
  if (!j) throw notFound('job', id);
  return j;
}

/**
 * Jobs with their pipeline's name: every view of a job shows the pipeline by name. Left join: a
 * job outlives nothing it points at, but a missing name must not hide the job.
 */
const namedJobs = (p: Platform) =>
  p.database.db
    .select({ job: jobExecutions, pipelineName: pipelines.name })
    .from(jobExecutions)
    .leftJoin(pipelines, eq(pipelines.id, jobExecutions.pipelineId));

const namedView = (r: { job: JobExecution; pipelineName: string | null }, waiting?: Map<string, string>) => {
  const why = waiting?.get(r.job.id);
  return {
    ...jobView(r.job),
    ...(r.pipelineName ? { pipelineName: r.pipelineName } : {}),
    ...(why ? { waitingFor: why } : {}),
  };
};

/** One job as GET /jobs/{id} shows it: with its pipeline's name, and why it waits if it does. */
export async function getJobView(p: Platform, id: string) {
  const [r] = await namedJobs(p).where(eq(jobExecutions.id, id));
  if (!r) throw notFound('job', id);
  return namedView(r, await waitingReasons(p, [r.job]));
}

export interface JobFilter {
  limit: number;
  offset: number;
  status?: JobStatus;
  pipelineId?: string;
  triggerType?: TriggerType;
  from?: string;
  to?: string;
  deadLettered?: boolean;
}

export async function listJobs(p: Platform, f: JobFilter) {
  const conds: (SQL | undefined)[] = [
    f.status ? eq(jobExecutions.status, f.status) : undefined,
    f.pipelineId ? eq(jobExecutions.pipelineId, f.pipelineId) : undefined,
    f.triggerType ? eq(jobExecutions.triggerType, f.triggerType) : undefined,
    f.from ? gte(jobExecutions.createdAt, new Date(f.from)) : undefined,
    f.to ? lte(jobExecutions.createdAt, new Date(f.to)) : undefined,
    f.deadLettered ? isNotNull(jobExecutions.deadLetteredAt) : undefined,
  ];
  const where = and(...conds);
  const rows = await namedJobs(p)
    .where(where)
    .orderBy(desc(jobExecutions.createdAt))
    .limit(f.limit)
    .offset(f.offset);
  const [total] = await p.database.db.select({ n: count() }).from(jobExecutions).where(where);
  // A deleted pipeline's jobs keep the name it had (pipelines are deleted softly).
  const waiting = await waitingReasons(
    p,
    rows.map((r) => r.job),
  );
  return { items: rows.map((r) => namedView(r, waiting)), total: total!.n };
}

export async function listSteps(p: Platform, jobId: string): Promise<StepExecution[]> {
  await getJob(p, jobId);
  return jobSteps(p, jobId);
}

/** The steps of a job known to exist. */
export function jobSteps(p: Platform, jobId: string): Promise<StepExecution[]> {
  return (
    p.database.db
      .select()
      .from(stepExecutions)
      .where(eq(stepExecutions.jobId, jobId))
      // In the order they ran (the id is a random uuid: ordering by it shuffled every job's steps).
      .orderBy(sql`${stepExecutions.startedAt} ASC NULLS LAST`, stepExecutions.stepId)
  );
}

export const FINISHED: JobStatus[] = ['success', 'failed', 'cancelled', 'timeout'];

/**
 * A queued job is cancelled at once; a running one is marked, and its worker stops its steps
 * within seconds (it polls for the mark).
 */
export async function cancelJob(p: Platform, id: string): Promise<JobExecution> {
  const job = await getJob(p, id);
  if (FINISHED.includes(job.status)) throw conflict(`job ${id} is ${job.status} already; nothing to cancel`);
  const now = new Date();
  if (job.status === 'running') {
    const [j] = await p.database.db
      .update(jobExecutions)
      .set({ cancelRequestedAt: now })
      .where(eq(jobExecutions.id, id))
      .returning();
    return j!;
  }
  const j = await p.database.db.transaction(async (tx) => {
    const [row] = await tx
      .update(jobExecutions)
      .set({ status: 'cancelled', cancelRequestedAt: now, completedAt: now })
      .where(and(eq(jobExecutions.id, id), inArray(jobExecutions.status, ['pending', 'queued'])))
      .returning();
    if (row) await afterJobEnded(p, tx, row, 'cancelled');
    return row;
  });
  if (!j) return cancelJob(p, id); // it started meanwhile
  await p.database.db
    .update(stepExecutions)
    .set({ status: 'cancelled' })
    .where(and(eq(stepExecutions.jobId, id), eq(stepExecutions.status, 'pending')));
  await p.bus.publish(j.pipelineId, { type: 'status', payload: { jobId: id, status: 'cancelled' } });
  return j;
}

/**
 * Runs a finished, unsuccessful job again as the same job: from its failed step (the failed,
 * cancelled and skipped steps run again, resuming from their checkpoints; successful ones keep
 * their results), or every step. Also how the dead-letter queue requeues.
 */
export async function retryJob(p: Platform, id: string, fromFailedStep = true): Promise<JobExecution> {
  const job = await getJob(p, id);
  if (!FINISHED.includes(job.status) || job.status === 'success') {
    throw conflict(`job ${id} is ${job.status}; only a failed, cancelled or timed-out job can be retried`);
  }
  await prepareJobQueue(p.queue, job.runsOn);
  const updated = await p.database.db.transaction(async (tx) => {
    const reset = fromFailedStep
      ? and(
          eq(stepExecutions.jobId, id),
          inArray(stepExecutions.status, ['failed', 'cancelled', 'skipped', 'running', 'pending']),
        )
      : eq(stepExecutions.jobId, id);
    // A step that ran before resumes from its checkpoints; a full re-run starts every step afresh.
    await tx
      .update(stepExecutions)
      .set({ status: 'pending', progress: 0, error: null, ...(fromFailedStep ? {} : { attempt: 0 }) })
      .where(reset);
    // A full re-run cuts partitioned steps afresh; from the failed step, parts that succeeded stay.
    if (!fromFailedStep) await tx.delete(stepPartitions).where(eq(stepPartitions.jobId, id));
    const [j] = await tx
      .update(jobExecutions)
      .set({
        status: 'queued',
        queuedAt: new Date(),
        completedAt: null,
        cancelRequestedAt: null,
        deadLetteredAt: null,
        error: null,
        // A retry is a new budget of attempts: the operator decided to try again.
        maxAttempts: job.attempt + p.jobAttempts,
      })
      .where(eq(jobExecutions.id, id))
      .returning();
    await enqueueInTransaction(p.queue, tx, j!);
    return j!;
  });
  await p.bus.publish(job.pipelineId, { type: 'status', payload: { jobId: id, status: 'queued' } });
  return updated;
}
