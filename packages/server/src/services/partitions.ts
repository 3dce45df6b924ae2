import type { ErrorReport, Json, StepReport } from '@sluice/core';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { jobExecutions, type StepPartition, stepPartitions } from '../db/schema.ts';
import type { JobEvent } from '../events/messages.ts';
import type { Platform } from '../platform.ts';
import {
  inTransaction,
  type JobMessageRef,
  PARTITIONS_QUEUE,
  type PartitionMessage,
  type Tx,
} from '../queue/boss.ts';

// The rows of a partitioned step's parts and their queue messages: the job's worker cuts the step
// (worker/partitioned-step.ts), any worker runs a part (worker/partition-runner.ts); these record it.

/** The job a partition belongs to, as its events and messages need it. */
interface PartitionJob {
  id: string;
  pipelineId: string;
}

const queued = (job: PartitionJob, stepId: string, partition: number): JobEvent => ({
  type: 'status',
  payload: { jobId: job.id, stepId, partition, status: 'queued' },
});

async function send(p: Platform, tx: Tx, job: PartitionJob, partitionId: string): Promise<void> {
  const message: PartitionMessage = { partitionId, jobId: job.id };
  const id = await p.queue.send(PARTITIONS_QUEUE, message, inTransaction(tx));
  if (!id) throw new Error(`pg-boss refused partition ${partitionId} of job ${job.id}`);
}

/** The step's parts, one row and one queue message each, in one transaction. */
export async function createPartitions(
  p: Platform,
  job: PartitionJob,
  stepId: string,
  parts: readonly Json[],
): Promise<StepPartition[]> {
  return p.database.db.transaction(async (tx) => {
    const rows = await tx
      .insert(stepPartitions)
      .values(parts.map((part, index) => ({ jobId: job.id, stepId, index, part })))
      .returning();
    for (const r of rows) await send(p, tx, job, r.id);
    await p.bus.publishIn(tx, job.pipelineId, ...rows.map((r) => queued(job, stepId, r.index)));
    return rows;
  });
}

/**
 * A job's partitions as the API shows them, in step and index order: no checkpoint or quarantine
 * body (a page polling a job of 256 parts would read them all each time), the last checkpoint's number.
 */
export async function partitionViews(p: Platform, jobId: string) {
  const t = stepPartitions;
  const rows = await p.database.db
    .select({
      id: t.id,
      stepId: t.stepId,
      index: t.index,
      part: t.part,
      status: t.status,
      progress: t.progress,
      attempt: t.attempt,
      rowsRead: t.rowsRead,
      rowsWritten: t.rowsWritten,
      rowsQuarantined: sql<number | null>`(${t.report}->>'rowsQuarantined')::bigint`,
      workerId: t.workerId,
      startedAt: t.startedAt,
      completedAt: t.completedAt,
      checkpointedAt: sql<number | null>`(${t.checkpoint}->'current'->>'seq')::int`,
      error: t.error,
    })
    .from(t)
    .where(eq(t.jobId, jobId))
    .orderBy(asc(t.stepId), asc(t.index));
  return rows.map((r) => ({
    ...r,
    rowsQuarantined: Number(r.rowsQuarantined ?? 0),
    checkpointedAt: r.checkpointedAt === null ? null : Number(r.checkpointedAt),
    startedAt: r.startedAt?.toISOString() ?? null,
    completedAt: r.completedAt?.toISOString() ?? null,
    error: r.error ?? null,
  }));
}

/** A job's partitions (of one step, or of all), in step and index order. */
export async function listPartitions(p: Platform, jobId: string, stepId?: string): Promise<StepPartition[]> {
  return p.database.db
    .select()
    .from(stepPartitions)
    .where(
      stepId === undefined
        ? eq(stepPartitions.jobId, jobId)
        : and(eq(stepPartitions.jobId, jobId), eq(stepPartitions.stepId, stepId)),
    )
    .orderBy(asc(stepPartitions.stepId), asc(stepPartitions.index));
}

/** How far a part is: what the step waiting for its parts reads every few seconds. */
export type PartState = Pick<StepPartition, 'status' | 'progress' | 'rowsRead'>;

/** The states of a step's parts, without their reports, checkpoints and quarantines. */
export async function partitionStates(p: Platform, jobId: string, stepId: string): Promise<PartState[]> {
  return p.database.db
    .select({
      status: stepPartitions.status,
      progress: stepPartitions.progress,
      rowsRead: stepPartitions.rowsRead,
    })
    .from(stepPartitions)
    .where(and(eq(stepPartitions.jobId, jobId), eq(stepPartitions.stepId, stepId)));
}

/**
 * A new attempt of the job runs again the parts that failed or were cancelled (from their own
 * checkpoints); parts that succeeded keep their reports.
 */
export async function requeuePartitions(p: Platform, job: PartitionJob, stepId: string): Promise<number> {
  return p.database.db.transaction(async (tx) => {
    const rows = await tx
      .update(stepPartitions)
      .set({ status: 'pending', error: null, completedAt: null })
      .where(
        and(
          eq(stepPartitions.jobId, job.id),
          eq(stepPartitions.stepId, stepId),
          inArray(stepPartitions.status, ['failed', 'cancelled']),
        ),
      )
      .returning();
    for (const r of rows) await send(p, tx, job, r.id);
    if (rows.length > 0)
      await p.bus.publishIn(tx, job.pipelineId, ...rows.map((r) => queued(job, stepId, r.index)));
    return rows.length;
  });
}

/** Parts still waiting for a worker end as cancelled, at once: their messages find nothing to run. */
export async function cancelWaitingPartitions(p: Platform, job: PartitionJob, stepId: string): Promise<void> {
  await p.database.db
    .update(stepPartitions)
    .set({ status: 'cancelled', completedAt: new Date() })
    .where(
      and(
        eq(stepPartitions.jobId, job.id),
        eq(stepPartitions.stepId, stepId),
        eq(stepPartitions.status, 'pending'),
      ),
    );
}

/** A partition a worker took, with what it needs of its job. */
export interface Claimed {
  partition: StepPartition;
  job: {
    id: string;
    pipelineId: string;
    status: string;
    cancelRequested: boolean;
    upstreamJobId: string | null;
  };
}

/**
 * A worker takes a part: its row says running on this worker, with the attempt counted. A part
 * found running already was its worker's, lost: it is taken over and resumes from its checkpoint.
 * Undefined for a part that ended meanwhile (cancelled, or finished by a worker that outlived its
 * heartbeat).
 */
export async function claimPartition(
  p: Platform,
  partitionId: string,
  workerId: string,
): Promise<Claimed | undefined> {
  const [partition] = await p.database.db
    .update(stepPartitions)
    .set({ status: 'running', attempt: sql`${stepPartitions.attempt} + 1`, workerId, startedAt: new Date() })
    .where(and(eq(stepPartitions.id, partitionId), inArray(stepPartitions.status, ['pending', 'running'])))
    .returning();
  if (!partition) return undefined;
  const [job] = await p.database.db
    .select({
      id: jobExecutions.id,
      pipelineId: jobExecutions.pipelineId,
      status: jobExecutions.status,
      cancelRequestedAt: jobExecutions.cancelRequestedAt,
      upstreamJobId: jobExecutions.upstreamJobId,
    })
    .from(jobExecutions)
    .where(eq(jobExecutions.id, partition.jobId));
  if (!job) return undefined;
  const { cancelRequestedAt, ...rest } = job;
  return { partition, job: { ...rest, cancelRequested: cancelRequestedAt !== null } };
}

/**
 * A part ended: its row holds its report (or error), its end is announced, and its queue message
 * is completed, all in one transaction, so a part is never both recorded and run again.
 */
export async function endPartition(
  p: Platform,
  job: PartitionJob,
  partition: StepPartition,
  report: StepReport,
  message?: JobMessageRef,
): Promise<void> {
  const error: ErrorReport | null = report.error ?? null;
  await p.database.db.transaction(async (tx) => {
    await tx
      .update(stepPartitions)
      .set({
        status: report.status,
        progress: report.status === 'success' ? 100 : partition.progress,
        rowsRead: report.rowsRead,
        rowsWritten: report.rowsWritten,
        completedAt: new Date(),
        report,
        error,
      })
      .where(eq(stepPartitions.id, partition.id));
    if (message) await p.queue.complete(message.name, message.id, null, inTransaction(tx));
    await p.bus.publishIn(tx, job.pipelineId, {
      type: 'status',
      payload: { jobId: job.id, stepId: partition.stepId, partition: partition.index, status: report.status },
    });
  });
}

/**
 * A part whose worker shuts down goes back to the queue, to resume from its checkpoint on another:
 * its message completed and a new one sent in one transaction, as a job's is handed back.
 */
export async function handBackPartition(
  p: Platform,
  job: PartitionJob,
  partition: StepPartition,
  message: JobMessageRef,
): Promise<void> {
  await p.database.db.transaction(async (tx) => {
    await tx
      .update(stepPartitions)
      .set({ status: 'pending', workerId: null })
      .where(and(eq(stepPartitions.id, partition.id), eq(stepPartitions.status, 'running')));
    await p.queue.complete(message.name, message.id, null, inTransaction(tx));
    await send(p, tx, job, partition.id);
    await p.bus.publishIn(tx, job.pipelineId, queued(job, partition.stepId, partition.index));
  });
}

/** A part whose worker was lost too many times (pg-boss gave up on its message) failed. */
export async function losePartition(p: Platform, partitionId: string): Promise<void> {
  const [row] = await p.database.db
    .update(stepPartitions)
    .set({
      status: 'failed',
      completedAt: new Date(),
      error: { code: 'INTERNAL', message: "the partition's worker was lost too many times" },
    })
    .where(and(eq(stepPartitions.id, partitionId), inArray(stepPartitions.status, ['pending', 'running'])))
    .returning();
  if (!row) return;
  const [job] = await p.database.db
    .select({ pipelineId: jobExecutions.pipelineId })
    .from(jobExecutions)
    .where(eq(jobExecutions.id, row.jobId));
  if (job)
    p.bus.emit(job.pipelineId, {
      type: 'status',
      payload: { jobId: row.jobId, stepId: row.stepId, partition: row.index, status: 'failed' },
    });
}

/**
 * Keeps a part's checkpoint and the quarantine text it covers (from byte `from` on: what it gained
 * since the last, or all of it again after a fresh start), for a worker that takes the part over.
 */
export async function savePartitionCheckpoint(
  p: Platform,
  partitionId: string,
  file: Json,
  quarantine: { from: number; text: string },
): Promise<void> {
  await p.database.db
    .update(stepPartitions)
    .set({
      checkpoint: file,
      quarantine: sql`substring(coalesce(${stepPartitions.quarantine}, ''::bytea) from 1 for ${quarantine.from}) || convert_to(${quarantine.text}, 'UTF8')`,
    })
    .where(eq(stepPartitions.id, partitionId));
}

/** A running part's progress, at most once a second (worker/step-recorder.ts throttles). */
export async function savePartitionProgress(
  p: Platform,
  partitionId: string,
  progress: number,
  rowsRead: number,
): Promise<void> {
  await p.database.db
    .update(stepPartitions)
    .set({ progress, rowsRead })
    .where(and(eq(stepPartitions.id, partitionId), eq(stepPartitions.status, 'running')));
}
