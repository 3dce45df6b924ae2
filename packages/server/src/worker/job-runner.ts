import { join } from 'node:path';
import type { Span } from '@opentelemetry/api';
import {
  datasetHandoffs,
  ErrorCode,
  type ErrorReport,
  emptyStep,
  type ResolvedPlan,
  type ResolvedStep,
  runIntegrity,
  type StepReport,
  type StepState,
  scheduleDag,
  toSluiceError,
} from '@sluice/core';
import type { StepExecution } from '../db/schema.ts';
import { jobTrace } from '../observability/logger.ts';
import { childSpan, endSpan, startJobSpan } from '../observability/tracing.ts';
import type { Platform } from '../platform.ts';
import type { JobMessageRef } from '../queue/boss.ts';
import { auditPathForbidden } from '../security/path-roots.ts';
import { storeStepArtifacts } from '../services/artifacts.ts';
import {
  datasetSteps,
  datasetUses,
  fetchDatasets,
  fetchOtherDatasets,
  storeDatasets,
} from '../services/datasets.ts';
import {
  announceQueued,
  type Begun,
  beginAttempt,
  endStep,
  type FinishOptions,
  finishJob,
  handBack,
  type JobEnd,
  requeueJob,
  rowsProcessed,
  type StepEnd,
  saveJobTrace,
  saveStepsNotRun,
  startStep,
} from '../services/job-status.ts';
import { jobPlan } from '../services/jobs.ts';
import { stepCredentials } from '../services/step-credentials.ts';
import { stepFilesDir, storeStepFiles, upstreamReports } from '../services/step-files.ts';
import { holdCredentialSlots } from './credential-slots.ts';
import { runPartitioned } from './partitioned-step.ts';
import type { StepHostPool } from './step-hosts.ts';
import { runStepInline, runsInWorker } from './step-inline.ts';
import { jobStepOptions, stateDirOf as stepStateDir, workspaceOf } from './step-options.ts';
import { runStepProcess, type StepProcessOptions } from './step-process.ts';
import { appendLog, stepEvents, writeLog } from './step-recorder.ts';

/** The abort reason of a worker shutting down: its jobs are handed back, not cancelled. */
export class Shutdown extends Error {
  constructor() {
    super('the worker is shutting down');
  }
}

export interface RunnerOptions {
  workerId: string;
  /** Steps of one job run at once. @defaultValue 4 */
  stepConcurrency: number;
  stepMemoryMb: number;
  killGraceMs?: number;
  /** Extra connector modules every step process registers. */
  modules?: string[];
  /** Step processes kept between steps of the same pipeline. Without it, one process per step. */
  hosts?: StepHostPool;
}

// Failures a new attempt cannot fix: the spec, the data's quality or the checks themselves.
const PERMANENT = new Set<string>([
  ErrorCode.CONFIG,
  ErrorCode.SPEC,
  ErrorCode.UNKNOWN_CONNECTOR,
  ErrorCode.PARAMS,
  ErrorCode.EXPRESSION,
  ErrorCode.INTEGRITY,
  ErrorCode.QUARANTINE_LIMIT,
  ErrorCode.ABORTED,
  ErrorCode.PATH_FORBIDDEN,
  ErrorCode.HOST_FORBIDDEN,
]);

// An attempt that starts while a step's circuit is still open only fails fast again and spends the
// job's budget of attempts: wait until the circuit lets a probe through.
function untilProbe(steps: readonly StepReport[]): number {
  const at = steps.map((r) => (r.error?.retryAt ? Date.parse(r.error.retryAt) : 0));
  return Math.max(0, Math.ceil((Math.max(0, ...at) - Date.now()) / 1000));
}

/**
 * Runs one job (its DAG of steps, each in its own process) to an end, recording every step on
 * its row. Called for each queue message; also when a job is taken up again after its worker
 * died: steps already successful keep their results, interrupted ones resume from checkpoints.
 * Answers `settled` when the job ended and its `message` was completed with that end; else the
 * caller completes it.
 */
export async function runJob(
  p: Platform,
  jobId: string,
  o: RunnerOptions,
  cancel: AbortSignal,
  message?: JobMessageRef,
): Promise<'settled' | undefined> {
  const begun = await beginAttempt(p, jobId, o.workerId, (j) => {
    // Before the attempt's first line: every line the job logs carries its trace.
    if (j.traceId) jobTrace.set(jobId, j.traceId);
    return { level: 'INFO', message: `attempt ${j.attempt} of ${j.maxAttempts} on worker ${o.workerId}` };
  }).catch((err: unknown) => {
    jobTrace.delete(jobId);
    throw err;
  });
  if (!begun) return undefined; // cancelled or finished meanwhile
  const job = 'exhausted' in begun ? begun.exhausted : begun.job;
  const span = startJobSpan(p.tracing.tracer, 'job', job.traceId, {
    'sluice.job.id': job.id,
    'sluice.pipeline.id': job.pipelineId,
    'sluice.pipeline.version': job.pipelineVersion,
    'sluice.job.attempt': job.attempt,
    'sluice.trigger': job.triggerType,
  });
  if (!job.traceId) {
    job.traceId = span.spanContext().traceId;
    await saveJobTrace(p, jobId, job.traceId);
  }
  jobTrace.set(jobId, job.traceId);
  let end: Ending = { status: 'unknown' };
  try {
    end =
      'exhausted' in begun
        ? await finishJob(p, job, 'failed', job.attempt, {
            error: { code: ErrorCode.INTERNAL, message: `job ${jobId} used all ${job.maxAttempts} attempts` },
            deadLetter: true,
            ...(message ? { message } : {}),
          }).then((e) => ({ ...e, settled: message !== undefined }))
        : await runAttempt(p, begun, o, cancel, span, message);
  } finally {
    jobTrace.delete(jobId);
    endSpan(span, end.status, end.status === 'success' ? null : (end.error ?? null));
  }
  return end.settled ? 'settled' : undefined;
}

/** How an attempt left the job, for its span. */
interface Ending {
  status: string;
  error?: ErrorReport;
  /** The job's queue message was completed with its end. */
  settled?: boolean;
}

async function runAttempt(
  p: Platform,
  begun: Begun,
  o: RunnerOptions,
  cancel: AbortSignal,
  span: Span,
  message: JobMessageRef | undefined,
): Promise<Ending> {
  const { job, attempt } = begun;
  const jobId = job.id;
  const log = (level: 'INFO' | 'WARN' | 'ERROR', message: string) =>
    writeLog(p, job.pipelineId, jobId, { level, message });
  // The job ends here: its message is completed with it.
  const finish = (status: JobEnd, f: FinishOptions): Promise<Ending> =>
    finishJob(p, job, status, attempt, { ...f, ...(message ? { message } : {}) }).then((e) => ({
      ...e,
      settled: message !== undefined,
    }));
  // Planned when the job was made: every step's process runs this plan, not the spec again.
  let plan: ResolvedPlan;
  try {
    plan = await jobPlan(p, job);
    span.updateName(`job ${plan.name}`);
    span.setAttribute('sluice.pipeline.name', plan.name);
  } catch (err) {
    const e = toSluiceError(err);
    return finish('failed', { error: { code: e.code, message: e.message } });
  }
  const rows = new Map(begun.steps.map((s) => [s.stepId, s]));
  const workspace = workspaceOf(p, jobId);
  const ran = new Set<string>();
  // A quarantine replay runs the steps it has rows for, each on its own, over the files the
  // replayed job left in its workspace (the quarantine, and the replay's checkpoints beside it).
  const { replayOf } = job;
  const steps = replayOf
    ? plan.steps.filter((s) => rows.has(s.id)).map((s) => ({ ...s, needs: [] }))
    : plan.steps;
  // A job with one step left to run records that step's end with its own: one transaction less.
  const oneLeft = steps.filter((s) => rows.get(s.id)?.status !== 'success').length === 1;
  let lastEnd: StepEnd | undefined;
  const recordLast = async () => {
    if (lastEnd) await endStep(p, job, lastEnd);
    lastEnd = undefined;
  };
  const uses = datasetUses(p, plan);
  const stateDirOf = (stepId: string) => stepStateDir(p, job, stepId);
  // What `${steps.<id>.…}` reads: the steps finished before this attempt, then each as it ends.
  const finished = new Map<string, StepReport>();
  const verifiedFiles = new Set<string>();
  for (const [id, r] of rows)
    if (r.report && r.status === 'success') finished.set(id, r.report as StepReport);
  const common = await jobStepOptions(p, job, plan, o, cancel);

  const reports = await scheduleDag(steps, o.stepConcurrency, cancel, async (step) => {
    const row = rows.get(step.id)!;
    if (row.status === 'success' && row.report) return row.report as StepReport;
    // Before the step counts as run: a job cancelled while it waits leaves it not started.
    let releaseCredentials: () => Promise<void>;
    try {
      releaseCredentials = await holdCredentialSlots(p, step, cancel, ({ name, concurrency }) =>
        writeLog(p, job.pipelineId, jobId, {
          level: 'INFO',
          stepId: step.id,
          message: `step ${step.id} waits for credential "${name}": ${concurrency} step(s) may use it at once`,
        }),
      );
    } catch (err) {
      if (cancel.aborted)
        return {
          ...emptyStep(step, 'cancelled'),
          error: { code: ErrorCode.ABORTED, message: 'the run was cancelled', step: step.id },
        };
      const e = toSluiceError(err);
      return {
        ...emptyStep(step, 'failed'),
        error: {
          code: e.code,
          message: `step ${step.id} could not take its credential's slot: ${e.message}`,
          step: step.id,
        },
      };
    }
    try {
      return await runStep(step, row);
    } finally {
      await releaseCredentials();
    }
  });

  async function runStep(step: ResolvedStep, row: StepExecution): Promise<StepReport> {
    ran.add(step.id);
    const stepSpan = childSpan(p.tracing.tracer, span, `step ${step.id}`, {
      'sluice.job.id': jobId,
      'sluice.step.id': step.id,
      'sluice.step.kind': step.kind,
      'sluice.connector': connectorsOf(step),
      'sluice.step.attempt': row.attempt + 1,
    });
    const events = stepEvents(p, job.pipelineId, jobId, step.id);
    const secrets = await stepCredentials(p, step, { workerId: o.workerId, jobId });
    const saved = begun.states.get(step.id);
    const datasets = uses.get(step.id) ?? { reads: [], writes: [], others: [] };
    await fetchDatasets(p, replayOf ?? jobId, datasets.reads);
    await fetchOtherDatasets(
      p,
      { id: replayOf ?? jobId, upstreamJobId: job.upstreamJobId },
      datasets.others,
      (message) => writeLog(p, job.pipelineId, jobId, { level: 'INFO', stepId: step.id, message }),
    );
    const upstream = await upstreamReports(p, replayOf ?? jobId, finished, stateDirOf, verifiedFiles);
    let stepState: StepState | undefined;
    const options: StepProcessOptions = {
      ...common,
      secrets,
      stepId: step.id,
      workDir: join(workspace, 'steps', step.id),
      stateDir: stateDirOf(step.id),
      upstream,
      resume: row.attempt > 0,
      ...(replayOf ? { replay: true } : {}),
      ...(saved === undefined ? {} : { state: saved }),
      onState: (s: StepState) => {
        stepState = s;
      },
      onEvent: events.onEvent,
      // The row says running, with the process that runs it, before the step is sent there.
      onSpawn: (pid: number) => startStep(p, job, row, { workerId: o.workerId, pid }),
    };
    // A task the pipeline lets run without isolation runs here: no process to start or talk to;
    // a partitioned flow runs as partitions on every worker, this one waiting for them.
    const report = runsInWorker(p.registry, plan.isolation, step)
      ? await runStepInline(options, p.registry)
      : step.kind === 'flow' && step.partitions && !replayOf
        ? await runPartitioned(p, job, step, options)
        : await runStepProcess(options);
    const endedAt = new Date();
    await events.settled();
    const r: StepReport = { ...report, kind: step.kind };
    stepSpan.setAttributes({
      'sluice.rows.read': r.rowsRead,
      'sluice.rows.written': r.rowsWritten,
      'sluice.rows.filtered': r.rowsFiltered,
      'sluice.rows.quarantined': r.rowsQuarantined,
    });
    endSpan(stepSpan, r.status, r.error);
    // Stored before the success is recorded: a step that reads them may run on another worker.
    if (r.status === 'success') await storeDatasets(p, replayOf ?? jobId, step.id, datasets.writes);
    if (r.status === 'success' && !replayOf)
      await storeStepFiles(p, jobId, r, stepFilesDir(stateDirOf(step.id), step.id));
    finished.set(step.id, r);
    if (r.error) await auditPathForbidden(p, job, o.workerId, r.error);
    // Where the runner leaves a step's files under its state directory (core's run.ts); after a
    // replay, the quarantine there is what is still open.
    const state = stateDirOf(step.id);
    const quarantine = {
      path: join(state, 'quarantine.ndjson'),
      suffix: 'quarantine.ndjson',
      kind: 'quarantine' as const,
      contentType: 'application/x-ndjson',
    };
    // Files a task leaves in its step directory for the user: a shell task's complete output (with
    // saveOutput: its log lines are cut at 2,000 characters), the page a browser task failed on.
    const output = (name: string, contentType = 'text/plain; charset=utf-8') => ({
      path: join(state, 'steps', step.id, name),
      suffix: name,
      kind: 'output' as const,
      contentType,
    });
    const artifacts = await storeStepArtifacts(p, jobId, step.id, r, [
      ...(r.rowsQuarantined > 0 ? [quarantine] : []),
      output('stdout.log'),
      output('stderr.log'),
      output('failure.png', 'image/png'),
      output('failure.html', 'text/html; charset=utf-8'),
    ]);
    const line = await appendLog(p, jobId, {
      level: r.status === 'success' ? 'INFO' : 'ERROR',
      stepId: step.id,
      message: `step ${step.id} ${r.status}${r.error ? `: ${r.error.message}` : ''}`,
    });
    const end: StepEnd = {
      report: r,
      endedAt,
      attemptBase: row.attempt,
      ...(r.status === 'success' && stepState !== undefined ? { state: stepState } : {}),
      artifacts,
      line,
    };
    if (oneLeft) lastEnd = end;
    else await endStep(p, job, end);
    return r;
  }

  if (cancel.reason instanceof Shutdown) {
    await recordLast();
    await handBack(p, job, attempt);
    return { status: 'queued' };
  }
  const all = steps.map((s) => reports.get(s.id)!);
  await saveStepsNotRun(
    p,
    jobId,
    all.filter((r) => !ran.has(r.id) && r.status !== 'success'),
  );
  const failed = all.find((r) => r.status === 'failed');
  const cancelled = cancel.aborted || all.some((r) => r.status === 'cancelled');
  const handoffs = datasetHandoffs(datasetSteps(p, plan));
  const integrity = { ...runIntegrity(all, handoffs), rowsProcessed: rowsProcessed(all) };
  const lastStep = lastEnd ? { lastStep: lastEnd } : {};
  if (cancelled && !failed) return finish('cancelled', { integrity, steps: all, ...lastStep });
  if (!failed) return finish('success', { integrity, steps: all, ...lastStep });
  const error: ErrorReport = failed.error ?? {
    code: ErrorCode.INTERNAL,
    message: `step ${failed.id} failed`,
  };
  const permanent = all.every(
    (r) => r.status !== 'failed' || r.error?.fatal === true || PERMANENT.has(r.error?.code ?? ''),
  );
  const status = error.code === ErrorCode.TIMEOUT ? 'timeout' : 'failed';
  if (!permanent && !cancelled && attempt < job.maxAttempts) {
    const delay = Math.max(
      Math.round(p.retryDelaySeconds * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)),
      untilProbe(all),
    );
    await recordLast();
    await requeueJob(p, job, error, delay);
    await log(
      'WARN',
      `${error.message}; attempt ${attempt + 1} of ${job.maxAttempts} in ${delay} s, from the failed step`,
    );
    await announceQueued(p, job);
    return { status: 'queued', error };
  }
  return finish(status, {
    error,
    integrity,
    steps: all,
    deadLetter: !permanent && !cancelled,
    ...lastStep,
  });
}

/** The connectors a step runs, for span attributes: `shell`, or `csv → filter → postgres`. */
function connectorsOf(step: ResolvedStep): string {
  return step.kind === 'task'
    ? step.task.connector
    : [step.source, ...step.transforms, ...step.sinks].map((c) => c.connector).join(' → ');
}
