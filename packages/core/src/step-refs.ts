import type { TaskDefinition } from './connector.ts';
import type { Issue } from './errors.ts';
import { dependsOn } from './internal/dag.ts';
import type { PlannedComponent, PlannedStep } from './plan.ts';
import type { StepReport } from './report.ts';

/**
 * `${steps.<id>.<field>}` and `${run.<field>}`: what earlier steps and the run itself did, filled
 * in just before a step runs (unlike `${params.x}`, which is filled in when the spec is planned).
 */
const REF = /\$\{(steps|run)\.([A-Za-z0-9_.-]+)\}/g;
const WHOLE = /^\$\{(steps|run)\.([A-Za-z0-9_.-]+)\}$/;

/** A step's figures a later step may use, as `${steps.<id>.<field>}`. */
const STEP_FIELDS = [
  'status',
  'attempts',
  'rowsRead',
  'rowsWritten',
  'rowsFiltered',
  'rowsQuarantined',
  'durationMs',
  'output',
] as const;
/** The run's own figures, as `${run.<field>}`. */
const RUN_FIELDS = ['id', 'pipeline', 'url', 'startedAt', 'status', 'durationMs'] as const;

/** What `${run.…}` says, as the runner knows it when a step starts. */
export interface RunFacts {
  id: string;
  pipeline: string;
  /** The job's page on the platform; empty on the CLI. */
  url: string;
  /** Epoch ms. */
  startedAt: number;
}

interface Ref {
  kind: 'steps' | 'run';
  /** The step's id, for `steps`. */
  step?: string;
  /** What follows the step id (`files.report`, `rowsWritten`), or the run's field. */
  field: string;
  text: string;
}

/** Splits `extract.files.report` at the longest known step id (ids may hold dots). */
function parse(kind: 'steps' | 'run', rest: string, ids: readonly string[], text: string): Ref {
  if (kind === 'run') return { kind, field: rest, text };
  const id = ids.filter((i) => rest.startsWith(`${i}.`)).sort((a, b) => b.length - a.length)[0];
  return id === undefined
    ? { kind, field: rest, text }
    : { kind, step: id, field: rest.slice(id.length + 1), text };
}

/** Every string of a config with its JSON path. */
function* strings(value: unknown, path: string): Generator<[string, string]> {
  if (typeof value === 'string') yield [value, path];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, `${path}[${i}]`);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) yield* strings(v, `${path}.${k}`);
}

const componentsOf = (s: PlannedStep): PlannedComponent[] =>
  s.kind === 'task' ? [s.task] : [s.source, ...s.transforms, ...s.sinks];

/**
 * Problems with the `${steps.…}` and `${run.…}` a plan's configs use: an unknown step or field, a
 * step not waited for (its figures would not exist yet), a file its task does not hand on.
 */
export function stepRefIssues(steps: readonly PlannedStep[]): Issue[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const ids = [...byId.keys()];
  const needs = new Map(steps.map((s) => [s.id, s.needs]));
  const issues: Issue[] = [];
  for (const s of steps)
    for (const c of componentsOf(s))
      for (const [text, at] of strings(c.config, `${c.path}.with`))
        for (const m of text.matchAll(REF)) {
          const ref = parse(m[1] as 'steps' | 'run', m[2]!, ids, m[0]);
          const problem = refProblem(ref, s, byId, needs);
          if (problem) issues.push({ path: at, message: `step "${s.id}": ${ref.text} ${problem}` });
        }
  return issues;
}

function refProblem(
  ref: Ref,
  from: PlannedStep,
  byId: Map<string, PlannedStep>,
  needs: Map<string, readonly string[]>,
): string | undefined {
  if (ref.kind === 'run')
    return (RUN_FIELDS as readonly string[]).includes(ref.field)
      ? undefined
      : `names no field of the run: use one of ${RUN_FIELDS.join(', ')}`;
  if (ref.step === undefined)
    return `names no step of this pipeline: use \${steps.<id>.<field>} with one of ${[...byId.keys()].join(', ')}`;
  if (ref.step === from.id) return 'names this same step: a step can use only what earlier steps did';
  if (!dependsOn(needs, from.id, ref.step))
    return `uses step "${ref.step}", which this step does not wait for: add needs: [${ref.step}]`;
  const target = byId.get(ref.step)!;
  const [head, name, ...extra] = ref.field.split('.');
  if (head === 'files') {
    if (name === undefined || extra.length > 0) return 'needs a file name: ${steps.<id>.files.<name>}';
    if (target.kind !== 'task') return `names a file, but step "${ref.step}" is a flow and hands on no files`;
    const def = target.task.def as TaskDefinition;
    const known = def.outputs?.(target.task.config as never) ?? [];
    if (!known.includes(name))
      return known.length === 0
        ? `names file "${name}", but step "${ref.step}" (${def.name}) hands on no files`
        : `names file "${name}", but step "${ref.step}" hands on only ${known.join(', ')}`;
    return undefined;
  }
  // Metric names may hold dots (`rows.affected`).
  if (head === 'metrics')
    return name !== undefined ? undefined : 'needs a metric name: ${steps.<id>.metrics.<name>}';
  return (STEP_FIELDS as readonly string[]).includes(ref.field)
    ? undefined
    : `names no field of a step: use files.<name>, metrics.<name> or one of ${STEP_FIELDS.join(', ')}`;
}

/** Whether a config uses anything filled in when its step starts. */
export function usesStepRefs(config: unknown): boolean {
  for (const [text] of strings(config, ''))
    if (text.includes('${steps.') || text.includes('${run.')) return true;
  return false;
}

/**
 * A config with its `${steps.…}` and `${run.…}` filled in from the reports of the steps done so
 * far. A string that is exactly one reference takes the value's own type (a count stays a number).
 * The plan was checked (stepRefIssues), so every reference names a step this one waited for.
 */
export function fillStepRefs(
  config: unknown,
  reports: ReadonlyMap<string, StepReport>,
  run: RunFacts,
): unknown {
  const ids = [...reports.keys()];
  const value = (ref: Ref): unknown => {
    if (ref.kind === 'run') return runField(ref.field, reports, run);
    const r = ref.step === undefined ? undefined : reports.get(ref.step);
    if (!r) return '';
    const [head, name] = ref.field.split('.');
    if (head === 'files') return r.files?.[name!]?.path ?? '';
    if (head === 'metrics') return metric(r, ref.field.slice('metrics.'.length)) ?? '';
    return (r as unknown as Record<string, unknown>)[ref.field] ?? '';
  };
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (!v.includes('${')) return v;
      const whole = WHOLE.exec(v);
      if (whole) return value(parse(whole[1] as 'steps' | 'run', whole[2]!, ids, v));
      return v.replace(REF, (text, kind: 'steps' | 'run', rest: string) =>
        String(value(parse(kind, rest, ids, text))),
      );
    }
    if (Array.isArray(v)) return v.map(fill);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  return fill(config);
}

/** A task's own figure, else what a component counted under that name (`rows.affected`). */
function metric(r: StepReport, name: string): number | undefined {
  if (r.metrics?.[name] !== undefined) return r.metrics[name];
  for (const c of r.components) {
    const n = c.counters?.[name];
    if (n !== undefined) return n;
  }
  return undefined;
}

function runField(field: string, reports: ReadonlyMap<string, StepReport>, run: RunFacts): unknown {
  switch (field) {
    case 'status':
      return [...reports.values()].every((r) => r.status === 'success') ? 'success' : 'failed';
    case 'durationMs':
      return Date.now() - run.startedAt;
    case 'startedAt':
      return new Date(run.startedAt).toISOString();
    default:
      return run[field as 'id' | 'pipeline' | 'url'] ?? '';
  }
}

/** A step with `${steps.…}` and `${run.…}` filled in its components' configs (see fillStepRefs). */
export function fillStep<S extends PlannedStep>(
  step: S,
  reports: ReadonlyMap<string, StepReport>,
  run: RunFacts,
): S {
  const fill = <C extends PlannedComponent>(c: C): C =>
    usesStepRefs(c.config) ? { ...c, config: fillStepRefs(c.config, reports, run) } : c;
  if (step.kind === 'task') return { ...step, task: fill(step.task) };
  return {
    ...step,
    source: fill(step.source),
    transforms: step.transforms.map(fill),
    sinks: step.sinks.map(fill),
  };
}
