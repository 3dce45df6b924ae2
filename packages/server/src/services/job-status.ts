import type { ErrorReport, StepReport, StepState } from '@sluice/core';
import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import {
  alertRules,
  type JobExecution,
  jobExecutions,
  type StepExecution,
  stepExecutions,
} from '../db/schema.ts';
import type { JobEvent } from '../events/messages.ts';
import type { Platform } from '../platform.ts';
import { inTransaction, type JobMessageRef, sendJob, type Tx } from '../queue/boss.ts';
import { appendLog, type LogLine, logKey, writeLog } from '../worker/step-recorder.ts';
import { afterJobEnded } from './after-job.ts';
import { evaluateJobAlerts } from './alerts.ts';
import { type ArtifactRow, artifactRow, indexRows } from './artifacts.ts';
import { afterBackfillJob } from './backfills.ts';
import { loadStepStates, saveStepState } from './pipeline-state.ts';

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

/** What a worker needs to run an attempt of a job, read as the attempt is recorded. */
export interface Begun {
  job: JobExecution;
  /** The attempt now running (counted on the row), 1 for the first. */
  attempt: number;
  steps: StepExecution[];
  /** The pipeline's saved state of each step (pipeline_state), by step id. */
  states: Map<string, StepState>;
}

/**
 * An attempt of the job starts on a worker: in one transaction, the job's row says running (with
 * the attempt counted), its step rows and the pipeline's step states are read, the log is
 * listed from the first attempt on (a job that never finishes, dead-lettered, still has it; its
 * size is brought up to date when the job ends), and `running` is announced. Answers undefined
 * for a job that is no longer waiting to run (cancelled or finished meanwhile), and
 * `{ exhausted }` for one that used all its attempts.
 */
export async function beginAttempt(
  p: Platform,
  jobId: string,
  workerId: string,
  /** The log line that says where the attempt runs, appended and announced with it. */
  line: (job: JobExecution) => Omit<LogLine, 'time'>,
): Promise<Begun | { exhausted: JobExecution } | undefined> {
  const now = new Date();
  return p.database.db.transaction(async (tx) => {
    const [job] = await tx
      .update(jobExecutions)
      .set({
        status: 'running',
        workerId,
        attempt: sql`${jobExecutions.attempt} + 1`,
        startedAt: sql`coalesce(${jobExecutions.startedAt}, ${now.toISOString()}::timestamptz)`,
        completedAt: null,
      })
      .where(
        and(
          eq(jobExecutions.id, jobId),
          inArray(jobExecutions.status, ['queued', 'running']),
          lt(jobExecutions.attempt, jobExecutions.maxAttempts),
        ),
      )
      .returning();
    if (!job) {
      const [row] = await tx.select().from(jobExecutions).where(eq(jobExecutions.id, jobId));
      return row && (row.status === 'queued' || row.status === 'running') ? { exhausted: row } : undefined;
    }
    const steps = await tx.select().from(stepExecutions).where(eq(stepExecutions.jobId, jobId));
    // A replay runs rejected rows again: it neither reads nor moves the pipeline's cursors.
    const states = job.replayOf ? new Map<string, StepState>() : await loadStepStates(tx, job.pipelineId);
    if (job.attempt === 1)
      await indexRows(tx, [
        {
          jobId,
          name: 'log.ndjson',
          kind: 'log',
          contentType: 'application/x-ndjson',
          storageKey: logKey(jobId),
          size: 0,
        },
      ]);
    await p.bus.publishIn(
      tx,
      job.pipelineId,
      { type: 'status', payload: { jobId, status: 'running' } },
      await appendLog(p, jobId, line(job)),
    );
    return { job, attempt: job.attempt, steps, states };
  });
}

/** A step's process is ready: the row says running, with that process, before the step is sent to it. */
export async function startStep(
  p: Platform,
  job: JobExecution,
  row: StepExecution,
  by: { workerId: string; pid: number },
): Promise<void> {
  const running = p.bus.notifying(job.pipelineId, {
    type: 'status',
    payload: { jobId: job.id, stepId: row.stepId, status: 'running' },
  });
  // One statement: the row and its announcement commit together, in one round trip.
  await p.database.db
    .execute(sql`
      WITH s AS (
        UPDATE ${stepExecutions}
        SET status = 'running', attempt = ${row.attempt + 1}, started_at = ${new Date().toISOString()}::timestamptz,
            worker_id = ${by.workerId}, progress = 0, pid = ${by.pid}
        WHERE id = ${row.id}
        RETURNING 1)
      SELECT ${running} FROM s`)
    .catch(() => undefined);
}

/** How a step ended, as its end is recorded (endStep) or carried to the job's end (finishJob). */
export interface StepEnd {
  report: StepReport;
  /**
   * When its process reported, before it let go of its credential's slot: its row's completedAt.
   * The row is written later (with the job's end, for the last step), when another step may
   * already have taken the slot.
   */
  endedAt: Date;
  /** The attempts its row counted before this run. */
  attemptBase: number;
  /** The state it saved, for the pipeline's next job. */
  state?: StepState;
  /** Its report and files, stored, to index. */
  artifacts: ArtifactRow[];
  /** Its last log line ("step x success"), appended: announced with the end. */
  line: JobEvent;
}

/**
 * Records a step's end in one transaction: the state it saved (with its success: a crash before
 * retries the job, whose step resumes from its final checkpoint and saves the same state), its
 * row, its artifacts, and the announcement.
 */
export async function endStep(p: Platform, job: JobExecution, end: StepEnd): Promise<void> {
  await p.database.db.transaction(async (tx) => {
    await p.bus.publishIn(tx, job.pipelineId, ...(await recordStepEnd(tx, job, end)));
  });
}

/**
 * The writes of a step's end with the caller's transaction (and `artifacts` of the caller's, indexed
 * in the same statement); answers the events to publish with it.
 */
async function recordStepEnd(
  tx: Tx,
  job: JobExecution,
  end: StepEnd,
  artifacts: ArtifactRow[] = [],
): Promise<JobEvent[]> {
  const r = end.report;
  if (r.status === 'success' && end.state !== undefined)
    await saveStepState(tx, { pipelineId: job.pipelineId, stepId: r.id, jobId: job.id }, end.state);
  await tx
    .update(stepExecutions)
    .set({
      status: r.status,
      ...(r.status === 'success' ? { progress: 100 } : {}),
      attempt: end.attemptBase + Math.max(1, r.attempts),
      completedAt: end.endedAt,
      durationMs: r.durationMs,
      rowsRead: r.rowsRead,
      rowsWritten: r.rowsWritten,
      rowsFiltered: r.rowsFiltered,
      rowsQuarantined: r.rowsQuarantined,
      report: r,
      error: r.error ?? null,
      pid: null,
    })
    .where(and(eq(stepExecutions.jobId, job.id), eq(stepExecutions.stepId, r.id)));
  await indexRows(tx, [...end.artifacts, ...artifacts]);
  return [end.line, { type: 'status', payload: { jobId: job.id, stepId: r.id, status: r.status } }];
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

/** What finishJob records beside the job's own end. */
export interface FinishOptions {
  error?: ErrorReport;
  integrity?: unknown;
  steps?: StepReport[];
  deadLetter?: boolean;
  /** The last step's end, recorded with the job's: one transaction instead of two. */
  lastStep?: StepEnd;
  /** The queue message that carried the job, completed with its end. */
  message?: JobMessageRef;
}

/**
 * Ends the job in one transaction: its row (and its last step's, when given), what follows it
 * (webhooks, dependents: services/after-job.ts), its log's size, its queue message, and the live
 * events — its last log line and `complete` — which go out when it commits. Then its alerts, when
 * any rule is enabled, and its backfill's next jobs.
 */
export async function finishJob(
  p: Platform,
  job: JobExecution,
  status: JobEnd,
  attempt: number,
  o: FinishOptions,
): Promise<{ status: JobEnd; error?: ErrorReport }> {
  const now = new Date();
  const durationMs = now.getTime() - (job.startedAt ?? now).getTime();
  const steps = o.steps ?? [];
  // In the log before the size is taken: the indexed size covers the whole of it.
  const line = await appendLog(p, job.id, {
    level: status === 'success' ? 'INFO' : 'ERROR',
    message: `job ${status}${o.error ? `: ${o.error.message}` : ''}${o.deadLetter ? ' (moved to the dead-letter queue)' : ''}`,
  });
  const log = await artifactRow(p, {
    jobId: job.id,
    name: 'log.ndjson',
    kind: 'log',
    contentType: 'application/x-ndjson',
  });
  const complete: JobEvent = {
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
  };
  const watched = await p.database.db.transaction(async (tx) => {
    // The log's row goes with the last step's artifacts when there is one: one statement less.
    const events = o.lastStep ? await recordStepEnd(tx, job, o.lastStep, [log]) : [];
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
    if (!o.lastStep) await indexRows(tx, [log]);
    if (o.message) await p.queue.complete(o.message.name, o.message.id, null, inTransaction(tx));
    const [rule] = await tx
      .select({ id: alertRules.id })
      .from(alertRules)
      .where(eq(alertRules.enabled, true))
      .limit(1);
    await p.bus.publishIn(tx, job.pipelineId, ...events, line, complete);
    return rule !== undefined;
  });
  // Never throws; channels are told in the background.
  if (watched) await evaluateJobAlerts(p, job.id, job.pipelineId);
  await afterBackfillJob(p, job.backfillId); // never throws: its next interval may start
  return { status, ...(o.error ? { error: o.error } : {}) };
}
