import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from './connector.ts';
import { datasetArea } from './dataset.ts';
import { ConfigError, ErrorCode, SluiceError, toSluiceError } from './errors.ts';
import { emptyStep } from './internal/dag.ts';
import { readJson } from './internal/files.ts';
import { collectQuarantine } from './internal/quarantine.ts';
import { hasReplayWork } from './internal/replay-entries.ts';
import { replayStep } from './internal/replay-step.ts';
import type { PlannedFlow } from './plan.ts';
import { type RunReport, runReport, type StepReport } from './report.ts';
import { bindPlan, type ResolvedPlan, resolvePlan } from './resolved-plan.ts';
import { type LogLevel, planOptions, type RunOptions } from './run.ts';

/** As for a run (see RunOptions); `stateDir` names the run whose quarantine is replayed. */
export interface ReplayOptions
  extends Pick<
    RunOptions,
    | 'registry'
    | 'baseDir'
    | 'paths'
    | 'network'
    | 'stateDir'
    | 'params'
    | 'env'
    | 'envNote'
    | 'credentials'
    | 'datasets'
    | 'runKey'
    | 'signal'
    | 'onEvent'
  > {
  /** Replays only these steps (by id). @defaultValue every flow step with quarantined rows */
  steps?: readonly string[];
}

/**
 * Replays the quarantined rows of a finished run through its steps' current definitions (after
 * a cast or a rule was fixed) into the same sinks, which keep what the run wrote and add to it
 * (SinkWriter.startAppend). A row quarantined by a transform re-enters at that transform, one a
 * sink refused goes to that sink only, and a record the source could not parse is parsed again
 * with the source's current config. Rows that fail again form the step's new quarantine, with
 * the new reason. The replay is checkpointed like a run: interrupted, the next replay of the same
 * run continues it, so no row is lost or written twice (see replayStep).
 *
 * Only steps that succeeded in the run are replayed: the quarantine of a step that did not
 * finish belongs to a run that has yet to be resumed. The report has a step per step replayed,
 * with `replay` counts; its `quarantine` is what is still open afterwards.
 */
export async function replayQuarantine(doc: unknown, opts: ReplayOptions): Promise<RunReport> {
  return replayPlanned(resolvePlan(doc, planOptions(opts)), opts);
}

/** Replays as replayQuarantine does, by a plan made once (see runPlanned). */
export async function replayPlanned(
  resolved: ResolvedPlan,
  opts: Omit<ReplayOptions, 'params' | 'env' | 'envNote'>,
): Promise<RunReport> {
  const started = Date.now();
  const baseDir = resolve(opts.baseDir ?? process.cwd());
  const stateDir = resolve(opts.stateDir ?? join(process.cwd(), '.sluice', 'runs', resolved.name));
  const signal = opts.signal ?? new AbortController().signal;
  const emit = opts.onEvent ?? (() => {});
  const run = await readJson<{ steps?: Record<string, StepReport> }>(join(stateDir, 'run.json'));
  if (!run) {
    throw new SluiceError(
      ErrorCode.NOT_FOUND,
      `no run of pipeline "${resolved.name}" in ${stateDir}: nothing to replay (run it first, or name the ` +
        'directory of the run with --run)',
    );
  }
  const flows = resolved.steps.filter((s) => s.kind === 'flow');
  const unknown = (opts.steps ?? []).filter((id) => !flows.some((s) => s.id === id));
  if (unknown.length > 0) {
    throw new ConfigError(
      `no flow step ${unknown.map((u) => `"${u}"`).join(', ')} in pipeline "${resolved.name}" (its flow steps: ${flows.map((s) => s.id).join(', ')})`,
      unknown.map((u) => ({ path: 'steps', message: `unknown flow step "${u}"` })),
    );
  }
  // Only the steps replayed are bound: each needs only its own credentials.
  const picked = flows.filter((s) => opts.steps === undefined || opts.steps.includes(s.id));
  const bound = bindPlan(
    { ...resolved, steps: picked },
    { registry: opts.registry, credentials: opts.credentials ?? {} },
  );
  const chosen = bound.steps as PlannedFlow[];

  const reports: StepReport[] = [];
  for (const step of chosen) {
    const stepDir = join(stateDir, 'steps', step.id);
    if (!(await hasReplayWork(stepDir))) continue;
    if (signal.aborted) {
      reports.push(failed(step, 'cancelled', ErrorCode.ABORTED, 'the replay was cancelled', 0));
      continue;
    }
    const status = run.steps?.[step.id]?.status ?? 'not run';
    if (status !== 'success') {
      reports.push(
        failed(
          step,
          'failed',
          ErrorCode.CONFIG,
          `step "${step.id}" did not succeed in the run (${status}): its quarantine is replayed once the ` +
            'step has finished; resume the run first (sluice run --resume)',
          0,
        ),
      );
      continue;
    }
    reports.push(await replayOne(step, stepDir));
  }

  async function replayOne(step: PlannedFlow, stepDir: string): Promise<StepReport> {
    const t0 = Date.now();
    const logger = (componentId: string): Logger => {
      const at = (level: LogLevel) => (message: string, meta?: Record<string, unknown>) =>
        emit({ type: 'log', level, stepId: step.id, componentId, message, ...(meta ? { meta } : {}) });
      return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    };
    emit({ type: 'step', stepId: step.id, status: 'running', attempt: 1 });
    let report: StepReport;
    try {
      const r = await replayStep(step, {
        pipeline: opts.runKey ?? resolved.name,
        stepDir,
        baseDir,
        paths: opts.paths,
        network: opts.network,
        params: resolved.params,
        datasets: opts.datasets ?? datasetArea(join(stateDir, 'datasets')),
        signal,
        logger,
        onProgress: (p) => emit({ type: 'progress', stepId: step.id, ...p }),
      });
      const { counts } = r;
      const sinks = r.components.filter((c) => c.kind === 'sink');
      const problems = sinks
        .filter((s) => s.rowsOut !== s.rowsIn - s.rowsQuarantined - s.rowsFiltered)
        .map(
          (s) =>
            `${s.id} acknowledged ${s.rowsOut} of the ${s.rowsIn - s.rowsQuarantined - s.rowsFiltered} rows it had to write`,
        );
      const fanOut = step.transforms.some((t) => t.def.fanOut === true);
      if (
        sinks.length === 1 &&
        !fanOut &&
        counts.taken !== counts.written + counts.filtered + counts.quarantined
      ) {
        problems.push(
          `entries replayed (${counts.taken}) ≠ written (${counts.written}) + filtered (${counts.filtered}) + quarantined again (${counts.quarantined})`,
        );
      }
      report = {
        ...emptyStep(step, problems.length === 0 ? 'success' : 'failed'),
        attempts: 1,
        rowsRead: counts.taken,
        rowsWritten: counts.written,
        rowsFiltered: counts.filtered,
        rowsQuarantined: counts.quarantined,
        components: r.components,
        integrity: { ok: problems.length === 0, problems },
        replay: counts,
        ...(r.resumedFromEntry === undefined ? {} : { resumedFromRow: r.resumedFromEntry }),
        durationMs: Date.now() - t0,
      };
      if (problems.length > 0) {
        report.error = {
          code: ErrorCode.INTEGRITY,
          message: `integrity check failed: ${problems.join('; ')}`,
          step: step.id,
        };
      }
    } catch (err) {
      const e = signal.aborted
        ? new SluiceError(ErrorCode.ABORTED, 'the replay was cancelled')
        : toSluiceError(err);
      report = failed(
        step,
        e.code === ErrorCode.ABORTED ? 'cancelled' : 'failed',
        e.code,
        e.message,
        Date.now() - t0,
      );
    }
    emit({
      type: 'step',
      stepId: step.id,
      status: report.status,
      attempt: 1,
      ...(report.error ? { error: report.error } : {}),
    });
    return report;
  }

  // What is still open after the replay, gathered as a run gathers its quarantine.
  const open: StepReport[] = [];
  for (const s of flows) {
    const text = await readFile(join(stateDir, 'steps', s.id, 'quarantine.ndjson'), 'utf8').catch(() => '');
    open.push({
      ...emptyStep(s, 'success'),
      rowsQuarantined: text.split('\n').filter((l) => l !== '').length,
    });
  }
  const quarantine = await collectQuarantine(stateDir, open);
  if (quarantine.path === null) await rm(join(stateDir, 'quarantine.ndjson'), { force: true });
  return runReport({ pipeline: resolved.name, started, params: resolved.params, steps: reports, quarantine });
}

function failed(
  step: PlannedFlow,
  status: 'failed' | 'cancelled',
  code: string,
  message: string,
  durationMs: number,
): StepReport {
  return { ...emptyStep(step, status), attempts: 1, durationMs, error: { code, message, step: step.id } };
}
