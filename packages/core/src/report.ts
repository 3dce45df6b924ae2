import { balanceDatasets, type DatasetBalance, type DatasetHandoff } from './dataset.ts';
import type { ComponentStats } from './internal/meter.ts';
import type { VerifyLevel } from './verify.ts';

export type StepStatus = 'pending' | 'running' | 'success' | 'failed' | 'skipped' | 'cancelled';
export type RunStatus = 'success' | 'failed' | 'cancelled';

export interface ErrorReport {
  code: string;
  message: string;
  step?: string;
  issues?: { path: string; message: string }[];
  /** Thrown as a FatalError: no new attempt can fix it, so neither the runner nor the platform retries. */
  fatal?: true;
  /** The earliest time a new attempt may succeed (ISO): when an open circuit lets a probe through. */
  retryAt?: string;
}

export interface StepReport {
  id: string;
  kind: 'flow' | 'task';
  status: StepStatus;
  attempts: number;
  rowsRead: number;
  rowsWritten: number;
  rowsFiltered: number;
  rowsQuarantined: number;
  durationMs: number;
  /** Rows already read before this run, when the step resumed from a checkpoint. */
  resumedFromRow?: number;
  components: ComponentStats[];
  integrity?: { ok: boolean; problems: string[] };
  output?: string;
  error?: ErrorReport;
  /** What the step's own process used (set by the platform, which runs each step in one). */
  resources?: StepResources;
  /** Set when the report is of a quarantine replay (see replay.ts), not of a run. */
  replay?: ReplayCounts;
  /** A task step's own figures (TaskResult.metrics: a command's exit code), for `${steps.<id>.metrics.<name>}`. */
  metrics?: Record<string, number>;
  /** Files a task step handed on (TaskResult.files), by output name. */
  files?: Record<string, StepOutputFile>;
}

/** A file a task step handed to later steps, as the runner found it when the task returned. */
export interface StepOutputFile {
  /** Where it is on the machine that ran the step (the platform moves it with the job). */
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * A quarantine replay's figures for one step: every entry taken is written, filtered or
 * quarantined again (with one sink and no fan-out, taken = written + filtered + quarantined).
 */
export interface ReplayCounts {
  /** Quarantine entries taken from the step's quarantine. */
  taken: number;
  /** Rows the sinks acknowledged. */
  written: number;
  /** Rows a transform dropped on purpose, or a sink merged by key. */
  filtered: number;
  /** Entries quarantined again, with the new reason (those that could not be replayed included). */
  quarantined: number;
  /** Of `quarantined`: entries the replay could not even try (see their reason). */
  notReplayable: number;
  /** The step's quarantine before the replay, kept with the replay's records. */
  replayedFile: string;
}

export interface StepResources {
  /** CPU time, user and system, of the step's process. */
  cpuMs: number;
  /**
   * Peak resident memory of the step's process while it ran the step (commands the step starts
   * are processes of their own, not counted).
   */
  peakRssBytes: number;
  /**
   * `step`: the peak while this step ran. `process`: the process's peak since it started, which
   * includes earlier steps it ran (the platform could not reset the mark).
   * @defaultValue 'process' when absent (reports from before the field)
   */
  peakScope?: 'step' | 'process';
}

export interface RunReport {
  pipeline: string;
  status: RunStatus;
  startedAt: string;
  durationMs: number;
  params: Record<string, unknown>;
  steps: StepReport[];
  integrity: RunIntegrity;
  quarantine: { rows: number; path: string | null };
  error?: ErrorReport;
}

/** What a run proves about its flows. */
export interface RunIntegrity {
  /** Every flow finished and balances. A run with a flow that did not finish is not ok. */
  ok: boolean;
  /** Flows that finished and do not balance, as `step: problem`. */
  problems: string[];
  /** Flows that did not finish (failed, cancelled, skipped): nothing about them is proven. */
  unchecked?: string[];
  /** The datasets steps handed each other: rows written against rows each reading source read. */
  datasets?: DatasetBalance[];
  /**
   * The weakest level at which the sinks of the finished flows verified what they wrote:
   * `content` only when every one read its rows back. Absent when no flow finished.
   */
  verified?: VerifyLevel;
}

/** A run's status from its steps': failed when one failed, else cancelled when one was. */
export function runStatus(steps: readonly StepReport[]): RunStatus {
  if (steps.some((s) => s.status === 'failed')) return 'failed';
  return steps.some((s) => s.status === 'cancelled') ? 'cancelled' : 'success';
}

/** The report of a run (or of a quarantine replay) from its steps' reports. */
export function runReport(o: {
  pipeline: string;
  started: number;
  params: Record<string, unknown>;
  steps: StepReport[];
  quarantine: RunReport['quarantine'];
  /** The datasets the steps hand each other, to balance across them. */
  datasets?: readonly DatasetHandoff[];
}): RunReport {
  const status = runStatus(o.steps);
  // A run that succeeded has no error, though a `when: failure` step it skipped says why.
  const firstError =
    status === 'success'
      ? undefined
      : (o.steps.find((s) => s.status === 'failed')?.error ?? o.steps.find((s) => s.error)?.error);
  return {
    pipeline: o.pipeline,
    status,
    startedAt: new Date(o.started).toISOString(),
    durationMs: Date.now() - o.started,
    params: o.params,
    steps: o.steps,
    integrity: runIntegrity(o.steps, o.datasets),
    quarantine: o.quarantine,
    ...(firstError ? { error: firstError } : {}),
  };
}

/** A run's (or a job's) integrity from its steps' reports. */
export function runIntegrity(
  steps: readonly StepReport[],
  handoffs: readonly DatasetHandoff[] = [],
): RunIntegrity {
  const balance = balanceDatasets(handoffs, steps);
  const problems = steps
    .flatMap((s) => (s.integrity?.problems ?? []).map((p) => `${s.id}: ${p}`))
    .concat(balance.problems);
  // A flow skipped by its `when` moved nothing, in a run that succeeded: nothing of it to check.
  const succeeded = runStatus(steps) === 'success';
  const unchecked = steps
    .filter((s) => s.kind === 'flow' && s.integrity === undefined && !(succeeded && s.status === 'skipped'))
    .map((s) => s.id);
  const verified = verifiedLevel(steps.filter((s) => s.integrity !== undefined));
  return {
    ok: problems.length === 0 && unchecked.length === 0,
    problems,
    ...(unchecked.length > 0 ? { unchecked } : {}),
    ...(verified ? { verified } : {}),
    ...(balance.datasets.length > 0 ? { datasets: balance.datasets } : {}),
  };
}

/** The weakest `verify` level of the steps' sinks; undefined when they have none. */
export function verifiedLevel(steps: readonly StepReport[]): VerifyLevel | undefined {
  const levels = steps.flatMap((s) =>
    s.components.filter((c) => c.kind === 'sink').map((c) => c.verified?.level ?? 'count'),
  );
  if (levels.length === 0) return undefined;
  return levels.every((l) => l === 'content') ? 'content' : 'count';
}

/**
 * The reconciliation of one flow. With one sink and no fan-out, every row read is written,
 * filtered or quarantined; with several sinks (fan-out) each sink must acknowledge what it got,
 * less what it quarantined or merged by key (a sink's rowsFiltered).
 */
export function reconcile(
  components: ComponentStats[],
  fanOut: boolean,
): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  const source = components.find((c) => c.kind === 'source');
  const sinks = components.filter((c) => c.kind === 'sink');
  const transforms = components.filter((c) => c.kind === 'transform');
  const delivered = transforms.at(-1)?.rowsOut ?? source?.rowsOut ?? 0;
  for (const s of sinks) {
    if (s.rowsIn !== delivered)
      problems.push(`${s.id} received ${s.rowsIn} rows, ${delivered} were sent to it`);
    const expected = s.rowsIn - s.rowsQuarantined - s.rowsFiltered;
    if (s.rowsOut !== expected) {
      const set = [
        s.rowsQuarantined > 0 ? `${s.rowsQuarantined} quarantined` : '',
        s.rowsFiltered > 0 ? `${s.rowsFiltered} merged by key` : '',
      ].filter(Boolean);
      problems.push(
        `${s.id} acknowledged ${s.rowsOut} of the ${expected} rows it had to write ` +
          `(${s.rowsIn} received${set.length ? `, ${set.join(', ')}` : ''})`,
      );
    }
  }
  if (source && sinks.length === 1 && !fanOut) problems.push(...balance([source, ...transforms], sinks[0]!));
  return { ok: problems.length === 0, problems };
}

/**
 * Every row read is written, filtered or quarantined. A transform that reshapes (an aggregation)
 * cuts the chain in two: the rows before it balance against the rows it took, and the rows after
 * it against the rows it gave, since its own change of count is no loss.
 */
function balance(chain: ComponentStats[], sink: ComponentStats): string[] {
  const problems: string[] = [];
  const cuts = [0, ...chain.flatMap((c, i) => (c.reshaped ? [i] : [])), chain.length];
  for (let k = 0; k + 1 < cuts.length; k++) {
    const a = cuts[k]!;
    const b = cuts[k + 1]!;
    // A source's bad rows are in what it read; a reshaping transform's are in what it took.
    const between = chain.slice(a === 0 ? 0 : a + 1, b);
    const toSink = b === chain.length;
    if (toSink) between.push(sink);
    const from =
      a === 0 ? `rows read (${chain[0]!.rowsIn})` : `rows out of ${chain[a]!.id} (${chain[a]!.rowsOut})`;
    const start = a === 0 ? chain[0]!.rowsIn : chain[a]!.rowsOut;
    const end = toSink ? sink.rowsOut : chain[b]!.rowsIn;
    const to = toSink ? `written (${end})` : `rows into ${chain[b]!.id} (${end})`;
    const filtered = sum(between, 'rowsFiltered');
    const quarantined = sum(between, 'rowsQuarantined');
    if (start !== end + filtered + quarantined)
      problems.push(`${from} ≠ ${to} + filtered (${filtered}) + quarantined (${quarantined})`);
  }
  return problems;
}

function sum(cs: ComponentStats[], k: 'rowsFiltered' | 'rowsQuarantined'): number {
  return cs.reduce((a, c) => a + c[k], 0);
}
