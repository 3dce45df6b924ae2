import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Json, Logger, SourceContext } from './connector.ts';
import { ErrorCode, SluiceError } from './errors.ts';
import { guardConnect } from './internal/circuits.ts';
import { writeJsonAtomic } from './internal/files.ts';
import type { ComponentStats } from './internal/meter.ts';
import type { NetPolicy } from './net-policy.ts';
import type { PathPolicy } from './paths.ts';
import { reconcile, type StepReport, type StepResources } from './report.ts';
import { bindPlan, type ResolvedPlan } from './resolved-plan.ts';
import type { RunState } from './run.ts';

export interface PartsOptions {
  registry: Parameters<typeof bindPlan>[1]['registry'];
  /** The partitioned step. */
  stepId: string;
  /** Parts wanted: the step's `partitions`. */
  count: number;
  credentials?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  baseDir?: string;
  paths?: PathPolicy;
  network?: NetPolicy;
  signal: AbortSignal;
  log?: Logger;
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Cuts a partitioned step's input into parts with its source's `partitions.plan`: what the
 * platform does once per job before it queues one partition job per part. The parts are plain
 * JSON, stored with the job and handed back to the source as `ctx.part` (RunOptions.part).
 */
export async function planParts(resolved: ResolvedPlan, o: PartsOptions): Promise<Json[]> {
  const chosen = { ...resolved, steps: resolved.steps.filter((s) => s.id === o.stepId) };
  const plan = bindPlan(chosen, { registry: o.registry, credentials: o.credentials ?? {} });
  const step = plan.steps[0];
  const cut = step?.kind === 'flow' ? step.source.def.partitions : undefined;
  if (step?.kind !== 'flow' || !cut)
    throw new SluiceError(ErrorCode.SPEC, `step "${o.stepId}" is not a flow whose source can be partitioned`);
  const source = step.source;
  const log = o.log ?? quiet;
  const ctx: SourceContext<unknown> = {
    config: source.config,
    signal: o.signal,
    stepId: step.id,
    componentId: source.id,
    baseDir: resolve(o.baseDir ?? process.cwd()),
    paths: o.paths,
    network: o.network,
    params: plan.params,
    log,
    guardConnect: (endpoint, connect) =>
      guardConnect(endpoint, connect, { settings: step.retry.circuit, log, where: source.id }),
    quarantine: () => {
      throw new SluiceError(
        ErrorCode.INTERNAL,
        `${source.id}: cutting the input into parts must not quarantine rows`,
      );
    },
    resumeFrom: undefined,
    state: { get: () => undefined, set: () => undefined },
    setOrigin: () => undefined,
  };
  return cut.plan(ctx, o.count);
}

/** Sums order-independent checksums (64-bit sums of row hashes, as 16 hex digits): parts add up. */
export function addChecksums(sums: readonly string[]): string {
  let total = 0n;
  for (const s of sums) total += BigInt(`0x${s}`);
  return BigInt.asUintN(64, total).toString(16).padStart(16, '0');
}

/**
 * The report of a partitioned step from its partitions' reports (in partition order): every count
 * is the sum of the parts', checksums are added (a sum of row hashes: the parts of a whole add up
 * to the whole's), and the step is reconciled again on the sums, so one integrity verdict covers
 * all parts. The step failed when a part did; it succeeded only when every part did.
 */
export function mergePartitionReports(
  step: { id: string; fanOut: boolean },
  parts: readonly StepReport[],
  durationMs: number,
): StepReport {
  const first = parts[0];
  if (!first)
    throw new SluiceError(ErrorCode.INTERNAL, `step "${step.id}" has no partition reports to merge`);
  const sum = (k: 'rowsRead' | 'rowsWritten' | 'rowsFiltered' | 'rowsQuarantined') =>
    parts.reduce((a, r) => a + r[k], 0);
  // A part that failed before its flow started has no components: the others' say what there is.
  const shape = parts.find((r) => r.components.length > 0)?.components ?? [];
  const components = shape.map((_, i) =>
    mergeComponent(parts.flatMap((r) => (r.components[i] ? [r.components[i]] : []))),
  );
  const failed = parts.find((r) => r.status === 'failed');
  const cancelled = parts.find((r) => r.status === 'cancelled');
  const status = failed
    ? 'failed'
    : cancelled
      ? 'cancelled'
      : parts.every((r) => r.status === 'success')
        ? 'success'
        : 'failed';
  const checked = reconcile(components, step.fanOut);
  const partProblems = parts.flatMap((r, i) =>
    (r.integrity?.problems ?? []).map((p) => `partition ${i + 1}: ${p}`),
  );
  const problems = [...partProblems, ...checked.problems];
  const resources = mergeResources(parts);
  const error = failed?.error ?? cancelled?.error;
  return {
    id: step.id,
    kind: 'flow',
    status,
    attempts: Math.max(...parts.map((r) => r.attempts)),
    rowsRead: sum('rowsRead'),
    rowsWritten: sum('rowsWritten'),
    rowsFiltered: sum('rowsFiltered'),
    rowsQuarantined: sum('rowsQuarantined'),
    durationMs,
    components,
    ...(status === 'success' ? { integrity: { ok: problems.length === 0, problems } } : {}),
    ...(error ? { error } : {}),
    ...(resources ? { resources } : {}),
  };
}

function mergeComponent(cs: readonly ComponentStats[]): ComponentStats {
  const first = cs[0]!;
  const total = (k: 'rowsIn' | 'rowsOut' | 'rowsQuarantined' | 'rowsFiltered' | 'durationMs') =>
    cs.reduce((a, c) => a + c[k], 0);
  const out: ComponentStats = {
    id: first.id,
    connector: first.connector,
    kind: first.kind,
    rowsIn: total('rowsIn'),
    rowsOut: total('rowsOut'),
    rowsQuarantined: total('rowsQuarantined'),
    rowsFiltered: total('rowsFiltered'),
    durationMs: total('durationMs'),
  };
  if (first.reshaped) out.reshaped = true;
  if (first.location !== undefined) out.location = first.location;
  const sums = cs.map((c) => c.checksum);
  if (sums.every((s) => s !== undefined)) out.checksum = addChecksums(sums as string[]);
  const verified = cs.map((c) => c.verified);
  if (verified.every((v) => v !== undefined)) {
    const level = verified.every((v) => v!.level === 'content') ? 'content' : 'count';
    const handed = verified.map((v) => v!.handed);
    const found = verified.map((v) => v!.found);
    out.verified = {
      level,
      rowsHanded: verified.reduce((a, v) => a + v!.rowsHanded, 0),
      rowsFound: verified.reduce((a, v) => a + v!.rowsFound, 0),
      ...(level === 'content' && handed.every((h) => h !== undefined) && found.every((f) => f !== undefined)
        ? { handed: addChecksums(handed as string[]), found: addChecksums(found as string[]) }
        : {}),
    };
  }
  const changes = new Map<string, NonNullable<ComponentStats['schemaChanges']>[number]>();
  for (const c of cs) for (const ch of c.schemaChanges ?? []) changes.set(JSON.stringify(ch), ch);
  if (changes.size > 0) out.schemaChanges = [...changes.values()];
  const counters: Record<string, number> = {};
  for (const c of cs)
    for (const [k, n] of Object.entries(c.counters ?? {})) counters[k] = (counters[k] ?? 0) + n;
  if (Object.keys(counters).length > 0) out.counters = counters;
  return out;
}

/** CPU adds up over the parts' processes; memory is each process's own, so the peak is the largest. */
function mergeResources(parts: readonly StepReport[]): StepResources | undefined {
  const rs = parts.flatMap((r) => (r.resources ? [r.resources] : []));
  if (rs.length === 0) return undefined;
  return {
    cpuMs: rs.reduce((a, r) => a + r.cpuMs, 0),
    peakRssBytes: Math.max(...rs.map((r) => r.peakRssBytes)),
    peakScope: rs.every((r) => r.peakScope === 'step') ? 'step' : 'process',
  };
}

/**
 * Leaves a partitioned step's run in `stateDir` as running it whole would have: its merged report
 * in run.json and its parts' quarantines joined in input order, in the step's folder (where a
 * quarantine replay takes its entries) and as the run's quarantine.ndjson.
 */
export async function recordMergedStep(
  stateDir: string,
  pipeline: string,
  report: StepReport,
  quarantines: readonly Uint8Array[],
): Promise<void> {
  const state: RunState = {
    pipeline,
    status: report.status === 'success' ? 'success' : report.status === 'cancelled' ? 'cancelled' : 'failed',
    steps: { [report.id]: report },
  };
  const stepDir = join(stateDir, 'steps', report.id);
  await mkdir(stepDir, { recursive: true });
  const joined = Buffer.concat(quarantines.filter((q) => q.length > 0));
  if (joined.length > 0) {
    await writeFile(join(stepDir, 'quarantine.ndjson'), joined);
    await writeFile(join(stateDir, 'quarantine.ndjson'), joined);
  }
  await writeJsonAtomic(join(stateDir, 'run.json'), state);
}
