import type { ErrorReport, StepReport } from '@sluice/core';
import { and, eq, inArray } from 'drizzle-orm';
import { type JobExecution, jobExecutions, type StepExecution, stepExecutions } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { sendJob } from '../queue/boss.ts';
import { writeLog } from '../worker/step-recorder.ts';
import { afterJobEnded } from './after-job.ts';
import { evaluateJobAlerts } from './alerts.ts';
import { indexArtifact } from './artifacts.ts';
import { afterBackfillJob } from './backfills.ts';

// The rows a worker writes as it runs a job, and the live events that go with them: the worker's
// job-runner decides what happens, these record it. A status change is written before it is
// announced, so a client that hears of it and reads the row sees it.

export type JobEnd = 'success' | 'failed' | 'cancelled' | 'timeout';

/** The rows a job's steps read: its `rowsProcessed`. */
export function rowsProcessed(steps: readonly StepReport[]): number {
  return steps.reduce((a, r) => a + r.rowsRead, 0);
}

/** Keeps the trace a job's spans joined on its row (jobs made before trace ids were chosen at once). */
export async function saveJobTrace(p: Platform, jobId: string, traceId: string): Promise<void> {
  await p.database.db.update(jobExecutions).set({ traceId }).where(eq(jobExecutions.id, jobId));
}

/** An attempt of the job starts on a worker. */
export async function startAttempt(p: Platform, job: JobExecution, workerId: string, attempt: number) {
  await p.database.db
    .update(jobExecutions)
    .set({ status: 'running', workerId, attempt, startedAt: job.startedAt, completedAt: null })
    .where(eq(jobExecutions.id, job.id));
  p.bus.emit(job.pipelineId, { type: 'status', payload: { jobId: job.id, status: 'running' } });
}

/** A step's process is ready: the row says running, with that process, before the step is sent to it. */
export async function startStep(
  p: Platform,
  job: JobExecution,
  row: StepExecution,
  by: { workerId: string; pid: number },
): Promise<void> {
  await p.database.db
    .update(stepExecutions)
    .set({
      status: 'running',
      attempt: row.attempt + 1,
      startedAt: new Date(),
      workerId: by.workerId,
      progress: 0,
      pid: by.pid,
    })
    .where(eq(stepExecutions.id, row.id))
    .catch(() => undefined);
  p.bus.emit(job.pipelineId, {
    type: 'status',
    payload: { jobId: job.id, stepId: row.stepId, status: 'running' },
  });
}

/** Records a step's outcome on its row; `attemptBase` is the attempts the row counted before this run. */
export async function saveStepResult(p: Platform, jobId: string, r: StepReport, attemptBase: number) {
  await p.database.db
    .update(stepExecutions)
    .set({
      status: r.status,
      ...(r.status === 'success' ? { progress: 100 } : {}),
      attempt: attemptBase + Math.max(1, r.attempts),
      completedAt: new Date(),
      durationMs: r.durationMs,
      rowsRead: r.rowsRead,
      rowsWritten: r.rowsWritten,
      rowsFiltered: r.rowsFiltered,
      rowsQuarantined: r.rowsQuarantined,
      report: r,
      error: r.error ?? null,
      pid: null,
    })
    .where(and(eq(stepExecutions.jobId, jobId), eq(stepExecutions.stepId, r.id)));
}

/** Steps the DAG never started (skipped behind a failure, or cancelled) take the status it gave them. */
export async function saveStepsNotRun(p: Platform, jobId: string, reports: readonly StepReport[]) {
  for (const r of reports) {
    await p.database.db
      .update(stepExecutions)
      .set({ status: r.status, error: r.error ?? null })
      .where(and(eq(stepExecutions.jobId, jobId), eq(stepExecutions.stepId, r.id)));
  }
}

/** A failed attempt another may fix: the job is queued again, to start after `delaySeconds`. */
export async function requeueJob(p: Platform, job: JobExecution, error: ErrorReport, delaySeconds: number) {
  await p.database.db
    .update(jobExecutions)
    .set({ status: 'queued', queuedAt: new Date(), error })
    .where(eq(jobExecutions.id, job.id));
  await sendJob(p.queue, job, { startAfterSeconds: delaySeconds });
}

/** Announces a job queued again (after requeueJob or handBack), once its log says why. */
export async function announceQueued(p: Platform, job: JobExecution): Promise<void> {
  await p.bus.publish(job.pipelineId, { type: 'status', payload: { jobId: job.id, status: 'queued' } });
}

/**
 * A worker stopping (SIGTERM) gives its job back: unfinished steps return to pending (they resume
 * from their checkpoints), the attempt is not counted, and the job is queued for another worker.
 */
export async function handBack(p: Platform, job: JobExecution, attempt: number): Promise<void> {
  await p.database.db
    .update(stepExecutions)
    .set({ status: 'pending', error: null, pid: null })
    .where(
      and(
        eq(stepExecutions.jobId, job.id),
        inArray(stepExecutions.status, ['running', 'cancelled', 'skipped']),
      ),
    );
  await p.database.db
    .update(jobExecutions)
    .set({ status: 'queued', attempt: attempt - 1, queuedAt: new Date(), workerId: null })
    .where(eq(jobExecutions.id, job.id));
  await sendJob(p.queue, job);
  await writeLog(p, job.pipelineId, job.id, {
    level: 'WARN',
    message: 'handed back to the queue: its worker is shutting down',
  });
  await announceQueued(p, job);
}

/** Records how the job ended on its row; returns its duration, measured from its first start. */
async function endJob(
  p: Platform,
  job: JobExecution,
  status: JobEnd,
  attempt: number,
  o: { error?: ErrorReport; integrity?: unknown; deadLetter?: boolean },
): Promise<number> {
  const now = new Date();
  const durationMs = now.getTime() - (job.startedAt ?? now).getTime();
  await p.database.db.transaction(async (tx) => {
    await tx
      .update(jobExecutions)
      .set({
        status,
        attempt,
        completedAt: now,
        durationMs,
        error: o.error ?? null,
        ...(o.integrity === undefined ? {} : { integrity: o.integrity }),
        ...(o.deadLetter ? { deadLetteredAt: now } : {}),
      })
      .where(eq(jobExecutions.id, job.id));
    await afterJobEnded(p, tx, job, status);
  });
  return durationMs;
}

/** Ends the job: its row, its last log line, its log's size, the live `complete` event, its alerts. */
export async function finishJob(
  p: Platform,
  job: JobExecution,
  status: JobEnd,
  attempt: number,
  o: { error?: ErrorReport; integrity?: unknown; steps?: StepReport[]; deadLetter?: boolean },
): Promise<{ status: JobEnd; error?: ErrorReport }> {
  const durationMs = await endJob(p, job, status, attempt, o);
  const steps = o.steps ?? [];
  await writeLog(p, job.pipelineId, job.id, {
    level: status === 'success' ? 'INFO' : 'ERROR',
    message: `job ${status}${o.error ? `: ${o.error.message}` : ''}${o.deadLetter ? ' (moved to the dead-letter queue)' : ''}`,
  });
  await indexArtifact(p, {
    jobId: job.id,
    name: 'log.ndjson',
    kind: 'log',
    contentType: 'application/x-ndjson',
  });
  p.bus.emit(job.pipelineId, {
    type: 'complete',
    payload: {
      jobId: job.id,
      status,
      durationMs,
      summary: {
        stepsTotal: steps.length,
        stepsSuccess: steps.filter((s) => s.status === 'success').length,
        stepsFailed: steps.filter((s) => s.status === 'failed').length,
        rowsProcessed: rowsProcessed(steps),
      },
    },
  });
  await evaluateJobAlerts(p, job.id, job.pipelineId); // never throws; channels are told in the background
  await afterBackfillJob(p, job.backfillId); // never throws: its next interval may start
  return { status, ...(o.error ? { error: o.error } : {}) };
}
