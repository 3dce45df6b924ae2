import { randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { handleWhen, retry } from 'cockatiel';
import type { Json, Logger } from './connector.ts';
import { type DatasetArea, datasetArea, datasetHandoffs } from './dataset.ts';
import { checkDeferred } from './deferred-check.ts';
import {
  CircuitOpenError,
  ConfigError,
  ErrorCode,
  FatalError,
  SluiceError,
  toSluiceError,
} from './errors.ts';
import { lifecycleLog, runFlow } from './flow.ts';
import { stepBackoff } from './internal/backoff.ts';
import type { CheckpointMirror } from './internal/checkpoint.ts';
import { guardConnect } from './internal/circuits.ts';
import { emptyStep, scheduleDag } from './internal/dag.ts';
import { readJson, writeJsonAtomic } from './internal/files.ts';
import type { ComponentStats } from './internal/meter.ts';
import { type ParallelOptions, parallelSettings } from './internal/parallel/settings.ts';
import { collectQuarantine } from './internal/quarantine.ts';
import { freshFilesDir, recordStepFiles } from './internal/step-files.ts';
import type { NetPolicy } from './net-policy.ts';
import type { PathPolicy } from './paths.ts';
import { datasetStep, type PlannedStep, type PlannedTask } from './plan.ts';
import type { Registry } from './registry.ts';
import {
  type ErrorReport,
  type RunReport,
  type RunStatus,
  reconcile,
  runReport,
  runStatus,
  type StepReport,
  type StepStatus,
  verifiedLevel,
} from './report.ts';
import { bindPlan, type ResolvedPlan, resolvePlan } from './resolved-plan.ts';
import { fileStepStateStore, type StepStateStore, stateDirOf } from './state.ts';
import { fillStep, type RunFacts } from './step-refs.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type RunEvent =
  | { type: 'step'; stepId: string; status: StepStatus; attempt: number; error?: ErrorReport }
  | {
      type: 'progress';
      stepId: string;
      rowsRead: number;
      done?: number;
      total?: number;
      /** A stream's messages waiting at the broker (SourceBatch.lag), when its source says. */
      lag?: number;
      /** When the flow's last checkpoint committed (epoch ms), once one has. */
      checkpointAt?: number;
    }
  | {
      type: 'log';
      level: LogLevel;
      stepId: string;
      componentId: string;
      message: string;
      meta?: Record<string, unknown>;
    };

export interface RunOptions {
  registry: Registry;
  /** Relative paths in configs resolve here. @defaultValue process.cwd() */
  baseDir?: string;
  /**
   * Restricts the local paths steps open (see PathPolicy): the platform passes its roots.
   * @defaultValue none: any path the process may open
   */
  paths?: PathPolicy;
  /**
   * Narrows the hosts steps may connect to (see NetPolicy): the platform passes --deny-hosts and
   * --allow-hosts. @defaultValue none: every host but link-local and cloud metadata addresses
   */
  network?: NetPolicy;
  /**
   * This run's checkpoints and quarantine (`steps/`, emptied by every run that does not resume)
   * and, unless `state` is given, the pipeline's step state (`state/`, kept across runs).
   * @defaultValue `<cwd>/.sluice/runs/<pipeline name>`
   */
  stateDir?: string;
  /**
   * Where each step's source state (`ctx.state`, e.g. an incremental cursor) is kept between runs:
   * loaded when a flow starts afresh, saved once the flow succeeded (see StepStateStore).
   * @defaultValue files under `<stateDir>/state`
   */
  state?: StepStateStore;
  params?: Record<string, unknown>;
  env?: Readonly<Record<string, string | undefined>>;
  /** Said when `${env.X}` names a variable `env` lacks (see PlanOptions). */
  envNote?: string;
  /** Continue an interrupted run: finished steps are kept, flows restart from their checkpoints. */
  resume?: boolean;
  signal?: AbortSignal;
  /** Fails a flow step that quarantines more rows than this (a step's `maxQuarantine` wins). */
  maxQuarantine?: number;
  /** Steps run at once. @defaultValue 4 */
  concurrency?: number;
  /**
   * Runs only these steps (by id), as if the steps they need had succeeded: how the platform runs
   * one step of a job in its own process. @defaultValue every step
   */
  steps?: readonly string[];
  /**
   * Names this run at destinations that keep checkpoints (the PostgreSQL sink's checkpoint row):
   * runs with the same key resume each other. @defaultValue the pipeline's name
   */
  runKey?: string;
  /**
   * Masks secrets in what the run writes to disk (run.json, with each step's report and output
   * tail): the platform passes one that knows the step's credentials.
   */
  redact?: <T>(value: T) => T;
  /**
   * Where the run's datasets are kept (see DatasetArea): the platform passes the job's workspace.
   * @defaultValue `<stateDir>/datasets`
   */
  datasets?: DatasetArea;
  /**
   * Reports of steps that finished outside this run (the platform runs each step of a job in its
   * own process): what `${steps.<id>.…}` reads besides the steps this run finishes.
   */
  upstream?: Readonly<Record<string, StepReport>>;
  /**
   * What `${run.id}` and `${run.url}` say: the platform passes its job's id and page.
   * @defaultValue a new id per run and no URL
   */
  run?: { id: string; url?: string; startedAt?: number };
  /** Stored credentials by name, for components that name one (`credential:`). */
  credentials?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  onEvent?: (event: RunEvent) => void;
  /**
   * Worker threads for flows that can use them (a file source, row-local transforms, sinks that
   * encode rows off their writer; see docs/parallel.md); `false` runs every flow on the main
   * thread. The output is the same either way.
   * @defaultValue one thread per core (`threads: os.availableParallelism()`; one fewer when a server
   * the flow reads from or writes to runs on this machine), for inputs of 8 MiB or more
   */
  parallel?: ParallelOptions | false;
  /**
   * Reads only this part of the source's input, as its `partitions.plan` cut it: how the platform
   * runs one partition of a partitioned step (with `steps` naming that step and a `runKey` of the
   * partition's own, so its checkpoints are its own).
   */
  part?: Json;
  /** A copy of each flow's checkpoints kept off this machine (see CheckpointMirror). */
  checkpointMirror?: CheckpointMirror;
}

/** What run.json holds: the run's steps as they stand (a replay and `--resume` read it). */
export interface RunState {
  pipeline: string;
  status: RunStatus | 'running';
  steps: Record<string, StepReport>;
}

/**
 * Runs a pipeline spec to the end and reports what happened: plans it (resolvePlan), then runs
 * the plan (runPlanned). Invalid specs throw a ConfigError before anything runs; failures while
 * running are reported, not thrown.
 */
export async function runPipeline(doc: unknown, opts: RunOptions): Promise<RunReport> {
  // Async, so a spec refused is a rejected promise, as every failure of a run is.
  return runPlanned(resolvePlan(doc, planOptions(opts)), opts);
}

/** What a run's options say about planning (see PlanOptions). */
export function planOptions(opts: Pick<RunOptions, 'registry' | 'params' | 'env' | 'envNote'>) {
  return {
    registry: opts.registry,
    params: opts.params ?? {},
    env: opts.env ?? process.env,
    ...(opts.envNote ? { envNote: opts.envNote } : {}),
  };
}

/** The options of a run of a plan made already: parameters and environment are in the plan. */
export type PlannedRunOptions = Omit<RunOptions, 'params' | 'env' | 'envNote'>;

/**
 * Runs a plan made once (resolvePlan), perhaps in another process: its steps are bound to this
 * process's registry and to `credentials` (bindPlan), then run as runPipeline runs them. Only the
 * steps chosen (`steps`) are bound, so a step needs only its own credentials.
 */
export async function runPlanned(resolved: ResolvedPlan, opts: PlannedRunOptions): Promise<RunReport> {
  const chosen = { ...resolved, steps: selectSteps(resolved.steps, opts.steps) };
  const plan = bindPlan(chosen, { registry: opts.registry, credentials: opts.credentials ?? {} });
  await checkDeferred(plan);
  const steps = plan.steps;
  const started = Date.now();
  const facts: RunFacts = {
    id: opts.run?.id ?? randomUUID(),
    pipeline: plan.name,
    url: opts.run?.url ?? '',
    startedAt: opts.run?.startedAt ?? started,
  };
  const baseDir = resolve(opts.baseDir ?? process.cwd());
  const stateDir = resolve(opts.stateDir ?? join(process.cwd(), '.sluice', 'runs', plan.name));
  const runFile = join(stateDir, 'run.json');
  const stepState = opts.state ?? fileStepStateStore(stateDirOf(stateDir));
  // Another pipeline's datasets are in its own state directory, beside this one's.
  const datasets =
    opts.datasets ??
    datasetArea(join(stateDir, 'datasets'), (other) => join(stateDir, '..', other, 'datasets'));
  const redact = opts.redact ?? (<T>(v: T) => v);
  const emit = opts.onEvent ?? (() => {});
  const signal = opts.signal ?? new AbortController().signal;
  const parallel = parallelSettings(opts.parallel);
  const previous = opts.resume ? await readJson<RunState>(runFile) : undefined;
  // Steps the last run recorded as successful: a destination checkpoint left behind is theirs.
  const last = opts.resume ? undefined : await readJson<RunState>(runFile).catch(() => undefined);
  if (!opts.resume) await clearRunFiles(join(stateDir, 'steps'));
  // Steps a resumed run keeps stay recorded from the start: a crash before the scheduler reaches
  // them again must not make them look unfinished.
  const kept = Object.entries(previous?.steps ?? {}).filter(([, r]) => r.status === 'success');
  const state: RunState = { pipeline: plan.name, status: 'running', steps: Object.fromEntries(kept) };
  // Parallel steps save run.json one after another, so a later save never lands before an earlier.
  let saving = Promise.resolve();
  const save = (): Promise<void> => {
    saving = saving.then(() => writeJsonAtomic(runFile, redact(state)));
    return saving;
  };
  await save();

  const logger = (stepId: string, componentId: string): Logger => {
    const at = (level: LogLevel) => (message: string, meta?: Record<string, unknown>) =>
      emit({ type: 'log', level, stepId, componentId, message, ...(meta ? { meta } : {}) });
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  };

  const finished = () =>
    new Map<string, StepReport>([...Object.entries(opts.upstream ?? {}), ...Object.entries(state.steps)]);
  const partial = new Map<string, ComponentStats[]>();
  const forgets = new Map<string, () => Promise<void>>();
  const runStep = async (step: PlannedStep): Promise<StepReport> => {
    const done = previous?.steps[step.id];
    if (done?.status === 'success') return done;
    const t0 = Date.now();
    const stepDir = join(stateDir, 'steps', step.id);
    let attempts = 0;
    const policy = retry(
      handleWhen((e) => toSluiceError(e).retryable),
      {
        maxAttempts: step.retry.attempts - 1,
        backoff: stepBackoff(step.retry),
      },
    );
    policy.onRetry((r) => {
      const err = 'error' in r ? toSluiceError(r.error) : undefined;
      logger(step.id, step.id).warn(
        `attempt ${attempts} of ${step.retry.attempts} failed, retrying in ${Math.round(r.delay)} ms: ${err?.message}`,
      );
    });
    try {
      const report = await policy.execute(async () => {
        attempts++;
        emit({ type: 'step', stepId: step.id, status: 'running', attempt: attempts });
        lifecycleLog(logger(step.id, step.id)).info(
          `${step.kind} step started${attempts > 1 ? ` (attempt ${attempts} of ${step.retry.attempts})` : ''}`,
        );
        const timeout = step.timeoutMs === undefined ? undefined : timeoutSignal(step.id, step.timeoutMs);
        const stepSignal = timeout ? AbortSignal.any([signal, timeout.signal]) : signal;
        // A retried flow resumes from its own checkpoint: what was committed stays committed.
        const resume = attempts > 1 || opts.resume === true;
        // Filled at each attempt from the reports on record: what earlier steps did is settled.
        const filled = fillStep(step, finished(), facts);
        try {
          return filled.kind === 'flow'
            ? await flowStep(filled, stepDir, stepSignal, resume)
            : await taskStep(filled, stepDir, stepSignal);
        } finally {
          timeout?.clear();
        }
      }, signal);
      return { ...report, attempts, durationMs: Date.now() - t0 };
    } catch (err) {
      const e = toStepError(err, step, signal);
      const status: StepStatus = e.code === ErrorCode.ABORTED ? 'cancelled' : 'failed';
      // What the last attempt got through before it stopped: rows read, written, quarantined.
      const cs = partial.get(step.id);
      const counts = cs ? totals(cs) : {};
      return { ...emptyStep(step, status), ...counts, attempts, durationMs: Date.now() - t0, error: e };
    }
  };

  const flowStep = async (
    step: PlannedStep & { kind: 'flow' },
    stepDir: string,
    stepSignal: AbortSignal,
    resume: boolean,
  ) => {
    const result = await runFlow(step, {
      pipeline: opts.runKey ?? plan.name,
      stepDir,
      loadState: () => stepState.load(step.id),
      baseDir,
      paths: opts.paths,
      network: opts.network,
      params: plan.params,
      signal: stepSignal,
      resume,
      succeededBefore: last?.steps[step.id]?.status === 'success',
      maxQuarantine: step.maxQuarantine ?? opts.maxQuarantine,
      logger: (c) => logger(step.id, c),
      onProgress: (p) => emit({ type: 'progress', stepId: step.id, ...p }),
      onFailure: (cs) => partial.set(step.id, cs),
      parallel,
      datasets,
      part: opts.part,
      mirror: opts.checkpointMirror,
    });
    forgets.set(step.id, result.forget);
    const cs = result.components;
    const fanOut = step.transforms.some((t) => t.def.fanOut === true);
    const integrity = reconcile(cs, fanOut);
    const report: StepReport = {
      ...emptyStep(step, integrity.ok ? 'success' : 'failed'),
      ...totals(cs),
      integrity,
      ...(result.resumedFromRow === undefined ? {} : { resumedFromRow: result.resumedFromRow }),
    };
    if (!integrity.ok) {
      report.error = {
        code: ErrorCode.INTEGRITY,
        message: `integrity check failed: ${integrity.problems.join('; ')}`,
        step: step.id,
      };
      return report;
    }
    // Saved before the run records the success: a crash in between leaves the step to --resume,
    // which closes the sinks from the final checkpoint and saves the same state again. Saved
    // after, a crash in between would let the next run read those rows a second time.
    // Most sources keep nothing: no empty entries for `sluice state show` and the pipeline page.
    if (Object.keys(result.state).length > 0) await stepState.save(step.id, result.state);
    return report;
  };

  const taskStep = async (
    step: PlannedTask,
    stepDir: string,
    stepSignal: AbortSignal,
  ): Promise<StepReport> => {
    const c = step.task;
    // What the task counts itself (a SQL task's affected rows) reaches the report, the CLI summary
    // and /metrics as a flow component's counters do.
    const counters: Record<string, number> = {};
    const t0 = Date.now();
    const filesDir = join(stepDir, 'files');
    await freshFilesDir(filesDir);
    const result = await c.def.run({
      config: c.config,
      signal: stepSignal,
      stepId: step.id,
      componentId: c.id,
      baseDir,
      paths: opts.paths,
      network: opts.network,
      workDir: baseDir,
      stepDir,
      filesDir,
      params: plan.params,
      datasets,
      log: logger(step.id, c.id),
      guardConnect: (endpoint, connect) =>
        guardConnect(endpoint, connect, {
          settings: step.retry.circuit,
          log: logger(step.id, c.id),
          where: c.id,
        }),
      quarantine: () => {
        throw new SluiceError(ErrorCode.INTERNAL, `task ${c.id} cannot quarantine rows`);
      },
      count: (name, n) => {
        counters[name] = (counters[name] ?? 0) + n;
      },
    });
    const counted: ComponentStats[] =
      Object.keys(counters).length === 0
        ? []
        : [
            {
              id: c.id,
              connector: c.def.name,
              kind: 'task',
              rowsIn: 0,
              rowsOut: 0,
              rowsQuarantined: 0,
              rowsFiltered: 0,
              durationMs: Date.now() - t0,
              counters,
            },
          ];
    const files = await recordStepFiles(result?.files, filesDir, c.id);
    return {
      ...emptyStep(step, 'success'),
      components: counted,
      ...(result?.output === undefined ? {} : { output: result.output }),
      ...(result?.metrics === undefined ? {} : { metrics: result.metrics }),
      ...(files === undefined ? {} : { files }),
    };
  };

  const reports = await scheduleDag(steps, opts.concurrency ?? 4, signal, async (step) => {
    const before = previous?.steps[step.id]?.status === 'success';
    const r = await runStep(step);
    if (!before)
      lifecycleLog(logger(step.id, step.id))[r.status === 'success' ? 'info' : 'warn'](stepSummary(r));
    state.steps[step.id] = r;
    await save();
    if (r.status === 'success') {
      await rm(join(stateDir, 'steps', step.id, 'checkpoint.json'), { force: true });
      // Only now, with the success on disk, may the destinations drop their checkpoints.
      await forgets
        .get(step.id)?.()
        .catch((err: unknown) =>
          logger(step.id, step.id).warn(
            `could not remove a checkpoint at a destination: ${toSluiceError(err).message}`,
          ),
        );
    }
    forgets.delete(step.id);
    emit({
      type: 'step',
      stepId: step.id,
      status: r.status,
      attempt: r.attempts,
      ...(r.error ? { error: r.error } : {}),
    });
    return r;
  });

  const done = steps.map((s) => reports.get(s.id)!);
  state.status = runStatus(done);
  await save();
  const quarantine = await collectQuarantine(stateDir, done);
  return runReport({
    pipeline: plan.name,
    started,
    params: plan.params,
    steps: done,
    quarantine,
    datasets: datasetHandoffs(steps.map(datasetStep)),
  });
}

/**
 * A run that does not resume starts without the last run's files, except its checkpoints: a flow
 * drops its own once its sinks started afresh, so a new run refused at the start (an append sink
 * after an interrupted run) leaves that run resumable.
 */
async function clearRunFiles(stepsDir: string): Promise<void> {
  const steps = await readdir(stepsDir).catch(() => [] as string[]);
  for (const step of steps) {
    const files = await readdir(join(stepsDir, step)).catch(() => [] as string[]);
    for (const f of files) {
      if (f !== 'checkpoint.json') await rm(join(stepsDir, step, f), { recursive: true, force: true });
    }
  }
}

/** The steps chosen by id, each needing only chosen steps; throws for an id the plan lacks. */
export function selectSteps<S extends { id: string; needs: string[] }>(
  all: S[],
  only: readonly string[] | undefined,
): S[] {
  if (only === undefined) return all;
  const unknown = only.filter((id) => !all.some((s) => s.id === id));
  if (unknown.length > 0) {
    throw new ConfigError(
      `no step ${unknown.map((u) => `"${u}"`).join(', ')} in this pipeline (its steps: ${all.map((s) => s.id).join(', ')})`,
      unknown.map((u) => ({ path: 'steps', message: `unknown step "${u}"` })),
    );
  }
  const chosen = new Set(only);
  // A step's `when` is about the steps it needs: with some of them left out, whoever chose the
  // steps decided already that it runs.
  return all
    .filter((s) => chosen.has(s.id))
    .map((s) => {
      const needs = s.needs.filter((n) => chosen.has(n));
      if (needs.length === s.needs.length) return s;
      const { when: _decided, ...rest } = s as S & { when?: unknown };
      return { ...rest, needs } as S;
    });
}

function totals(cs: ComponentStats[]) {
  return {
    rowsRead: cs[0]?.rowsIn ?? 0,
    rowsWritten: cs.filter((c) => c.kind === 'sink').reduce((a, c) => a + c.rowsOut, 0),
    rowsFiltered: cs.reduce((a, c) => a + c.rowsFiltered, 0),
    rowsQuarantined: cs.reduce((a, c) => a + c.rowsQuarantined, 0),
    components: cs,
  };
}

// Cleared when the attempt ends: a process that runs the next step must not hold this one (its
// config, credentials included) until the timeout would have fired.
function timeoutSignal(stepId: string, ms: number): { signal: AbortSignal; clear(): void } {
  const c = new AbortController();
  const t = setTimeout(
    () => c.abort(new SluiceError(ErrorCode.TIMEOUT, `step "${stepId}" timed out after ${ms} ms`)),
    ms,
  );
  t.unref();
  return { signal: c.signal, clear: () => clearTimeout(t) };
}

/** The last line a step logs: what it did, how long it took, what its integrity check found. */
function stepSummary(r: StepReport): string {
  const secs = `${(r.durationMs / 1000).toFixed(1)} s`;
  if (r.status !== 'success') {
    const tries = r.attempts > 1 ? ` after ${r.attempts} attempts` : '';
    return `${r.status}${tries} in ${secs}${r.error ? `: ${r.error.message}` : ''}`;
  }
  if (r.kind === 'task') return `done in ${secs}`;
  const rate = r.durationMs > 0 ? `, ${Math.round((r.rowsRead * 1000) / r.durationMs)} rows/s` : '';
  const level = verifiedLevel([r]);
  return (
    `done in ${secs}: read ${r.rowsRead}, written ${r.rowsWritten}, filtered ${r.rowsFiltered}, ` +
    `quarantined ${r.rowsQuarantined}${rate}; integrity ok` +
    (level ? (level === 'content' ? ', content read back and compared' : ', counts verified') : '')
  );
}

function toStepError(err: unknown, step: PlannedStep, runSignal: AbortSignal): ErrorReport {
  const e = runSignal.aborted
    ? new SluiceError(ErrorCode.ABORTED, 'the run was cancelled')
    : toSluiceError(err);
  return {
    code: e.code,
    message: e.message,
    step: step.id,
    ...(e.issues.length ? { issues: e.issues } : {}),
    ...(e instanceof FatalError ? { fatal: true as const } : {}),
    ...(e instanceof CircuitOpenError ? { retryAt: e.retryAt.toISOString() } : {}),
  };
}
