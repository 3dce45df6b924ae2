import {
  type CheckpointMirror,
  emptyStep,
  type Json,
  planParts,
  type Registry,
  type RunEvent,
  replayPlanned,
  runPlanned,
  type StepReport,
  type StepState,
  type StepStateStore,
} from '@sluice/core';
import { jobDatasetArea } from './job-datasets.ts';
import type { RunMessage } from './step-messages.ts';

/** What running one step of a job gives: its report, and the state it saved for the next job. */
export interface StepRun {
  report: StepReport;
  state?: StepState;
  /** What a partition plan cut the step's input into. */
  parts?: Json[];
}

/**
 * Runs the step a run message names with the engine, in this process: what a step process does
 * for each message, and what the worker does itself for a task the pipeline runs without
 * isolation (step-inline.ts). The pipeline's state comes in the message and the step's new one
 * goes back with the report, for the worker to save.
 */
export async function runStepHere(
  m: Omit<RunMessage, 'type' | 'runId'>,
  registry: Registry,
  signal: AbortSignal,
  onEvent: (event: RunEvent) => void,
  redact: <T>(value: T) => T,
  /** Where the flow's checkpoints are copied, when the message asks for a mirror. */
  mirror?: CheckpointMirror,
): Promise<StepRun> {
  const order = m.partition;
  if (order && 'plan' in order) {
    const t0 = Date.now();
    const parts = await planParts(m.plan, {
      registry,
      stepId: m.stepId,
      count: order.plan,
      credentials: (m.secrets ?? {}) as Record<string, Record<string, unknown>>,
      baseDir: m.baseDir ?? m.workDir,
      ...(m.paths ? { paths: m.paths } : {}),
      ...(m.network ? { network: m.network } : {}),
      signal,
    });
    const report = { ...emptyStep({ id: m.stepId, kind: 'flow' }, 'success'), attempts: 1 };
    return { report: { ...report, durationMs: Date.now() - t0 }, parts };
  }
  let saved: StepState | undefined;
  const state: StepStateStore = {
    load: async () => m.state,
    save: async (_stepId, s) => {
      saved = s;
    },
  };
  const options = {
    registry,
    steps: [m.stepId],
    // A partition's checkpoints at the destination are its own: it resumes only itself.
    runKey: order ? `${m.jobId}.p${order.index}` : m.jobId,
    baseDir: m.baseDir ?? m.workDir,
    stateDir: m.stateDir,
    ...(m.datasetsDir ? { datasets: jobDatasetArea(m.datasetsDir) } : {}),
    ...(m.paths ? { paths: m.paths } : {}),
    ...(m.network ? { network: m.network } : {}),
    credentials: (m.secrets ?? {}) as Record<string, Record<string, unknown>>,
    ...(m.upstream ? { upstream: m.upstream } : {}),
    ...(m.run ? { run: m.run } : {}),
    signal,
    onEvent,
  };
  const report = m.replay
    ? await replayPlanned(m.plan, options)
    : await runPlanned(m.plan, {
        ...options,
        state,
        resume: m.resume,
        redact,
        ...(order ? { part: order.part } : {}),
        ...(mirror ? { checkpointMirror: mirror } : {}),
        ...(m.maxQuarantine === undefined ? {} : { maxQuarantine: m.maxQuarantine }),
      });
  // A replay of a step whose quarantine is empty by now (replayed already) has nothing to report.
  const step = report.steps[0] ?? { ...emptyStep({ id: m.stepId, kind: 'flow' }, 'success'), attempts: 1 };
  return { report: step, ...(saved === undefined ? {} : { state: saved }) };
}
