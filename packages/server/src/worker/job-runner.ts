import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Span } from '@opentelemetry/api';
import {
  datasetHandoffs,
  ErrorCode,
  type ErrorReport,
  emptyStep,
  type PathPolicy,
  type ResolvedPlan,
  type ResolvedStep,
  runIntegrity,
  type StepReport,
  type StepState,
  scheduleDag,
  toSluiceError,
} from '@sluice/core';
import type { JobExecution, StepExecution } from '../db/schema.ts';
import { jobTrace } from '../observability/logger.ts';
import { childSpan, endSpan, startJobSpan } from '../observability/tracing.ts';
import type { Platform } from '../platform.ts';
import { auditPathForbidden } from '../security/path-roots.ts';
import { indexArtifact, saveStepArtifacts } from '../services/artifacts.ts';
import {
  datasetSteps,
  datasetsDirOf,
  datasetUses,
  fetchDatasets,
  fetchOtherDatasets,
  storeDatasets,
} from '../services/datasets.ts';
import {
  announceQueued,
  finishJob,
  handBack,
  requeueJob,
  rowsProcessed,
  saveJobTrace,
  saveStepResult,
  saveStepsNotRun,
  startAttempt,
  startStep,
} from '../services/job-status.ts';
import { jobUrl } from '../services/job-summary.ts';
import { getJob, jobPlan, jobSteps } from '../services/jobs.ts';
import { loadStepState, saveStepState } from '../services/pipeline-state.ts';
import { stepCredentials } from '../services/step-credentials.ts';
import { stepFilesDir, storeStepFiles, upstreamReports } from '../services/step-files.ts';
import { holdCredentialSlots } from './credential-slots.ts';
import { stepEnv } from './step-entry.ts';
import type { StepHostPool } from './step-hosts.ts';
import { runStepProcess } from './step-process.ts';
import { stepEvents, writeLog } from './step-recorder.ts';
import type { PathAlias } from './step-redact.ts';

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
 */
export async function runJob(
  p: Platform,
  jobId: string,
  o: RunnerOptions,
  cancel: AbortSignal,
): Promise<void> {
  const job = await getJob(p, jobId);
  if (job.status !== 'queued' && job.status !== 'running') return; // cancelled or finished meanwhile
  const span = startJobSpan(p.tracing.tracer, 'job', job.traceId, {
    'sluice.job.id': job.id,
    'sluice.pipeline.id': job.pipelineId,
    'sluice.pipeline.version': job.pipelineVersion,
    'sluice.job.attempt': job.attempt + 1,
    'sluice.trigger': job.triggerType,
  });
  if (!job.traceId) {
    job.traceId = span.spanContext().traceId;
    await saveJobTrace(p, jobId, job.traceId);
  }
  jobTrace.set(jobId, job.traceId);
  let end: Ending = { status: 'unknown' };
  try {
    end = await runAttempt(p, job, o, cancel, span);
  } finally {
    jobTrace.delete(jobId);
    endSpan(span, end.status, end.status === 'success' ? null : (end.error ?? null));
  }
}

/** How an attempt left the job, for its span. */
interface Ending {
  status: string;
  error?: ErrorReport;
}

async function runAttempt(
  p: Platform,
  job: JobExecution,
  o: RunnerOptions,
  cancel: AbortSignal,
  span: Span,
): Promise<Ending> {
  const jobId = job.id;
  const attempt = job.attempt + 1;
  const log = (level: 'INFO' | 'WARN' | 'ERROR', message: string) =>
    writeLog(p, job.pipelineId, jobId, { level, message });
  if (attempt > job.maxAttempts) {
    return finishJob(p, job, 'failed', attempt - 1, {
      error: { code: ErrorCode.INTERNAL, message: `job ${jobId} used all ${job.maxAttempts} attempts` },
      deadLetter: true,
    });
  }
  const started = new Date();
  // `finishJob` measures the duration from the job's first start: keep it on the row in hand too.
  job.startedAt ??= started;
  await startAttempt(p, job, o.workerId, attempt);
  await log('INFO', `attempt ${attempt} of ${job.maxAttempts} on worker ${o.workerId}`);
  // Listed from its first line (a job that never finishes, dead-lettered, still has it); its size
  // is brought up to date when the job ends.
  if (attempt === 1) {
    await indexArtifact(p, { jobId, name: 'log.ndjson', kind: 'log', contentType: 'application/x-ndjson' });
  }

  // Planned when the job was made: every step's process runs this plan, not the spec again.
  let plan: ResolvedPlan;
  try {
    plan = await jobPlan(p, job);
    span.updateName(`job ${plan.name}`);
    span.setAttribute('sluice.pipeline.name', plan.name);
  } catch (err) {
    const e = toSluiceError(err);
    return finishJob(p, job, 'failed', attempt, { error: { code: e.code, message: e.message } });
  }
  const rows = new Map((await jobSteps(p, jobId)).map((s) => [s.stepId, s]));
  const workspace = join(p.dataDir, 'work', jobId);
  const ran = new Set<string>();
  // A quarantine replay runs the steps it has rows for, each on its own, over the files the
  // replayed job left in its workspace (the quarantine, and the replay's checkpoints beside it).
  const { replayOf } = job;
  const steps = replayOf
    ? plan.steps.filter((s) => rows.has(s.id)).map((s) => ({ ...s, needs: [] }))
    : plan.steps;
  const uses = datasetUses(p, plan);
  const stateDirOf = (stepId: string) => join(p.dataDir, 'work', replayOf ?? jobId, 'state', stepId);
  // What `${steps.<id>.…}` reads: the steps finished before this attempt, then each as it ends.
  const finished = new Map<string, StepReport>();
  const verifiedFiles = new Set<string>();
  for (const [id, r] of rows)
    if (r.report && r.status === 'success') finished.set(id, r.report as StepReport);
  // The job's handed-on files lie in its workspace under the data directory, which steps may not
  // open; these folders of it they may (the policy compares paths with symlinks resolved).
  const realData = await realpath(p.dataDir).catch(() => p.dataDir);
  const paths: PathPolicy = {
    ...p.paths,
    granted: plan.steps.map((s) =>
      stepFilesDir(join(realData, 'work', replayOf ?? jobId, 'state', s.id), s.id),
    ),
  };
  const run = { id: jobId, url: jobUrl(p, jobId) ?? '' };

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
    const saved = replayOf ? undefined : await loadStepState(p.database.db, job.pipelineId, step.id);
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
    const report = await runStepProcess({
      plan,
      secrets,
      stepId: step.id,
      jobId: replayOf ?? jobId,
      workDir: join(workspace, 'steps', step.id),
      baseDir: p.filesDir,
      paths,
      network: p.network,
      stateDir: stateDirOf(step.id),
      upstream,
      run,
      datasetsDir: datasetsDirOf(p, replayOf ?? jobId),
      resume: row.attempt > 0,
      ...(replayOf ? { replay: true } : {}),
      ...(saved === undefined ? {} : { state: saved }),
      onState: (s) => {
        stepState = s;
      },
      env: stepEnv(),
      aliases: aliases(p, workspace),
      memoryMb: o.stepMemoryMb,
      ...(o.killGraceMs === undefined ? {} : { killGraceMs: o.killGraceMs }),
      ...(o.modules ? { modules: o.modules } : {}),
      ...(o.hosts ? { pool: { hosts: o.hosts, key: job.pipelineId } } : {}),
      signal: cancel,
      onEvent: events.onEvent,
      // The row says running, with the process that runs it, before the step is sent there.
      onSpawn: (pid) => startStep(p, job, row, { workerId: o.workerId, pid }),
    });
    await events.settled();
    const r: StepReport = { ...report, kind: step.kind };
    stepSpan.setAttributes({
      'sluice.rows.read': r.rowsRead,
      'sluice.rows.written': r.rowsWritten,
      'sluice.rows.filtered': r.rowsFiltered,
      'sluice.rows.quarantined': r.rowsQuarantined,
    });
    endSpan(stepSpan, r.status, r.error);
    // Saved before the success is recorded: a crash in between retries the job, whose step resumes
    // from its final checkpoint (nothing is written again) and saves the same state.
    if (r.status === 'success' && stepState !== undefined) {
      await saveStepState(p.database.db, { pipelineId: job.pipelineId, stepId: step.id, jobId }, stepState);
    }
    // Stored before the success is recorded: a step that reads them may run on another worker.
    if (r.status === 'success') await storeDatasets(p, replayOf ?? jobId, step.id, datasets.writes);
    if (r.status === 'success' && !replayOf)
      await storeStepFiles(p, jobId, r, stepFilesDir(stateDirOf(step.id), step.id));
    finished.set(step.id, r);
    await saveStepResult(p, jobId, r, row.attempt);
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
    await saveStepArtifacts(p, jobId, step.id, r, [
      ...(r.rowsQuarantined > 0 ? [quarantine] : []),
      output('stdout.log'),
      output('stderr.log'),
      output('failure.png', 'image/png'),
      output('failure.html', 'text/html; charset=utf-8'),
    ]);
    const level = r.status === 'success' ? 'INFO' : 'ERROR';
    await writeLog(p, job.pipelineId, jobId, {
      level,
      stepId: step.id,
      message: `step ${step.id} ${r.status}${r.error ? `: ${r.error.message}` : ''}`,
    });
    p.bus.emit(job.pipelineId, { type: 'status', payload: { jobId, stepId: step.id, status: r.status } });
    return r;
  }

  if (cancel.reason instanceof Shutdown) {
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
  if (cancelled && !failed) return finishJob(p, job, 'cancelled', attempt, { integrity, steps: all });
  if (!failed) return finishJob(p, job, 'success', attempt, { integrity, steps: all });
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
    await requeueJob(p, job, error, delay);
    await log(
      'WARN',
      `${error.message}; attempt ${attempt + 1} of ${job.maxAttempts} in ${delay} s, from the failed step`,
    );
    await announceQueued(p, job);
    return { status: 'queued', error };
  }
  return finishJob(p, job, status, attempt, {
    error,
    integrity,
    steps: all,
    deadLetter: !permanent && !cancelled,
  });
}

/**
 * The server's directories as a step's messages show them. Paths a step was refused are shown with
 * their symlinks resolved, so the directories' resolved names are aliased too.
 */
function aliases(p: Platform, workspace: string): PathAlias[] {
  const [files] = p.paths.roots;
  const [data] = p.paths.denied ?? [];
  return [
    { path: p.filesDir, as: '' },
    ...(files && files !== p.filesDir ? [{ path: files, as: '' }] : []),
    { path: workspace, as: '<job workspace>' },
    { path: p.dataDir, as: '<data dir>' },
    ...(data && data !== p.dataDir ? [{ path: data, as: '<data dir>' }] : []),
  ];
}

/** The connectors a step runs, for span attributes: `shell`, or `csv → filter → postgres`. */
function connectorsOf(step: ResolvedStep): string {
  return step.kind === 'task'
    ? step.task.connector
    : [step.source, ...step.transforms, ...step.sinks].map((c) => c.connector).join(' → ');
}
