import {
  ErrorCode,
  emptyStep,
  type Json,
  mergePartitionReports,
  type ResolvedFlow,
  recordMergedStep,
  type StepReport,
} from '@sluice/core';
import { and, eq } from 'drizzle-orm';
import { type StepPartition, stepExecutions } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import {
  cancelWaitingPartitions,
  createPartitions,
  listPartitions,
  type PartState,
  partitionStates,
  requeuePartitions,
} from '../services/partitions.ts';
import { Shutdown } from './job-runner.ts';
import { runStepProcess, type StepProcessOptions } from './step-process.ts';
import { writeLog } from './step-recorder.ts';

// With nothing heard, how often the waiting step looks at its parts' rows again (a part's end is
// announced, so this only bounds how late a missed announcement is noticed).
const LOOK_MS = 2000;
// After a cancel, how long the step waits for running parts to stop before it ends as cancelled.
const CANCEL_WAIT_MS = 15_000;

const DONE = new Set(['success', 'failed', 'cancelled', 'skipped']);

/**
 * Runs a step with `partitions`: cuts its input into parts in a step process (the first attempt),
 * queues one partition job per part for every worker to take (services/partitions.ts), waits for
 * them, and reports the sum (core's mergePartitionReports: counts, checksums, one integrity
 * verdict). A new attempt runs again only the parts that failed or were cancelled, each resuming
 * from its own checkpoint. An input too small to cut runs whole, as an ordinary step.
 */
export async function runPartitioned(
  p: Platform,
  job: { id: string; pipelineId: string },
  step: ResolvedFlow,
  options: StepProcessOptions,
): Promise<StepReport> {
  const t0 = Date.now();
  const log = (message: string) =>
    writeLog(p, job.pipelineId, job.id, { level: 'INFO', stepId: step.id, message });
  let parts = await listPartitions(p, job.id, step.id);
  if (parts.length === 0) {
    let cut: Json[] | undefined;
    const planned = await runStepProcess({
      ...options,
      partition: { plan: step.partitions! },
      onParts: (p) => {
        cut = p;
      },
    });
    if (planned.status !== 'success' || !cut) return { ...planned, kind: 'flow' };
    if (cut.length <= 1) {
      await log(`step ${step.id}: the input makes ${cut.length} part(s); it runs whole`);
      return runStepProcess(options);
    }
    parts = await createPartitions(p, job, step.id, cut);
    await log(`step ${step.id} cut into ${cut.length} partitions, queued for every worker`);
  } else {
    const again = await requeuePartitions(p, job, step.id);
    if (again > 0) await log(`step ${step.id}: ${again} of ${parts.length} partitions run again`);
  }
  await markRunning(p, job.id, step.id);
  const ended = await waitForParts(p, job, step.id, options.signal);
  if (ended === 'shutdown')
    return {
      ...emptyStep(step, 'cancelled'),
      error: { code: ErrorCode.ABORTED, message: 'the worker is shutting down', step: step.id },
    };
  const reports = ended.map((r) => partReport(step.id, r));
  const fanOut = step.transforms.some((t) => p.registry.get('transform', t.connector).fanOut === true);
  const merged = mergePartitionReports({ id: step.id, fanOut }, reports, Date.now() - t0);
  const failed = ended.find((r) => r.status === 'failed');
  if (merged.status === 'failed' && failed) {
    const e = reports[failed.index]!.error;
    merged.error = {
      code: e?.code ?? ErrorCode.INTERNAL,
      message: `partition ${failed.index + 1} of ${ended.length}: ${e?.message ?? 'failed'}`,
      step: step.id,
      ...(e?.fatal ? { fatal: true as const } : {}),
    };
  }
  // Each part's final checkpoint copied all of its quarantine to its row, whichever worker ran it:
  // joined here, where the job's runner keeps a step's quarantine and a replay finds it.
  const quarantines = ended.flatMap((r) => (r.quarantine ? [Buffer.from(r.quarantine)] : []));
  await recordMergedStep(options.stateDir, options.plan.name, merged, quarantines);
  return merged;
}

/** The step's row says running while its parts run elsewhere (the cut ran in a process of its own). */
async function markRunning(p: Platform, jobId: string, stepId: string): Promise<void> {
  await p.database.db
    .update(stepExecutions)
    .set({ status: 'running' })
    .where(and(eq(stepExecutions.jobId, jobId), eq(stepExecutions.stepId, stepId)));
}

/** A part's report; a part that ended without one (lost, cancelled while waiting) says why. */
function partReport(stepId: string, r: StepPartition): StepReport {
  if (r.report) return r.report as StepReport;
  const status = r.status === 'cancelled' ? 'cancelled' : 'failed';
  const error = (r.error as StepReport['error']) ?? {
    code: status === 'cancelled' ? ErrorCode.ABORTED : ErrorCode.INTERNAL,
    message: `partition ${r.index + 1} ended without a report`,
  };
  return { ...emptyStep({ id: stepId, kind: 'flow' }, status), attempts: 1, error };
}

/**
 * Waits until every part ended, looking again whenever one of the job's parts is announced and at
 * least every LOOK_MS; meanwhile the step's row shows the parts' rows read and mean progress. On a
 * cancel, parts still waiting end at once and running ones are given CANCEL_WAIT_MS to stop (their
 * workers see the job's cancel mark). A shutting-down worker stops waiting: the parts run on, and
 * the job's next attempt, on any worker, waits for them.
 */
async function waitForParts(
  p: Platform,
  job: { id: string; pipelineId: string },
  stepId: string,
  signal: AbortSignal,
): Promise<StepPartition[] | 'shutdown'> {
  let wake: (() => void) | undefined;
  const unsubscribe = p.bus.subscribe(`job:${job.id}`, (m) => {
    if (m.type === 'status' && m.payload.stepId === stepId && m.payload.partition !== undefined) wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort);
  let cancelledAt: number | undefined;
  let shown = '';
  try {
    for (;;) {
      if (signal.aborted && signal.reason instanceof Shutdown) return 'shutdown';
      if (signal.aborted && cancelledAt === undefined) {
        cancelledAt = Date.now();
        await cancelWaitingPartitions(p, job, stepId);
      }
      // Their states only while they run: the reports and quarantines are read once, at the end.
      const rows = await partitionStates(p, job.id, stepId);
      if (rows.every((r) => DONE.has(r.status))) return listPartitions(p, job.id, stepId);
      if (cancelledAt !== undefined && Date.now() - cancelledAt > CANCEL_WAIT_MS)
        return (await listPartitions(p, job.id, stepId)).map((r) =>
          DONE.has(r.status) ? r : { ...r, status: 'cancelled' as const, report: null },
        );
      shown = await showProgress(p, job, stepId, rows, shown);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, LOOK_MS);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}

/** The step's row and live progress from its parts': rows read summed, progress their mean. */
async function showProgress(
  p: Platform,
  job: { id: string; pipelineId: string },
  stepId: string,
  rows: readonly PartState[],
  shown: string,
): Promise<string> {
  const rowsRead = rows.reduce((a, r) => a + r.rowsRead, 0);
  const progress = Math.min(99, Math.round(rows.reduce((a, r) => a + r.progress, 0) / rows.length));
  const now = `${rowsRead}/${progress}`;
  if (now === shown) return shown;
  await p.database.db
    .update(stepExecutions)
    .set({ progress, rowsRead })
    .where(and(eq(stepExecutions.jobId, job.id), eq(stepExecutions.stepId, stepId)));
  p.bus.emit(job.pipelineId, {
    type: 'progress',
    payload: { jobId: job.id, stepId, progress, rowsProcessed: rowsRead },
  });
  return now;
}
