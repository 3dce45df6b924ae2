import type {
  ConnectorDefinition,
  SinkDefinition,
  SourceDefinition,
  TaskDefinition,
  TransformDefinition,
} from './connector.ts';
import { datasetIssues } from './dataset.ts';
import { ConfigError, type Issue, type SluiceError } from './errors.ts';
import { CIRCUIT_DEFAULTS, type CircuitSettings } from './internal/circuits.ts';
import { interpolate, type Scope } from './interpolate.ts';
import { resolveParams } from './params.ts';
import type { Registry } from './registry.ts';
import {
  type ComponentSpec,
  join,
  normalizeSpec,
  type PipelineSpec,
  type StepSpec,
  type StepWhen,
  toMs,
} from './spec.ts';
import { stepRefIssues } from './step-refs.ts';

export interface PlannedComponent<D extends ConnectorDefinition = ConnectorDefinition> {
  def: D;
  config: unknown;
  /** `<step>.<index>:<connector>` or `<step>.<label>`. */
  id: string;
  /** JSON path of the component in the spec, for errors. */
  path: string;
  /** The stored credential whose fields fill in `config` at run time. */
  credential?: string;
}

export interface RetryPolicy {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Connecting to an external endpoint goes through its circuit (see guardConnect); false: never. */
  circuit: CircuitSettings | false;
}

/** What every planned step has, whether bound to definitions (PlannedStep) or not (ResolvedStep). */
export interface PlannedStepBase {
  id: string;
  needs: string[];
  retry: RetryPolicy;
  timeoutMs: number | undefined;
  maxQuarantine: number | undefined;
  checkpointEvery: number;
  /** The step's `checkpointInterval`; undefined when not given (see DEFAULT_STREAM_INTERVAL_MS). */
  checkpointIntervalMs: number | undefined;
  /** When the step runs once its needs have finished (see StepOptions.when); absent: `success`. */
  when?: StepWhen;
  /**
   * Worker tags the step needs on the platform, sorted; absent when none (and on plans stored
   * before tags existed). The CLI runs every step whatever its tags.
   */
  runsOn?: string[];
  /** A flow's `partitions`: the platform cuts its input into this many parts (docs/partitions.md). */
  partitions?: number;
}
export interface PlannedFlow extends PlannedStepBase {
  kind: 'flow';
  source: PlannedComponent<SourceDefinition>;
  transforms: PlannedComponent<TransformDefinition>[];
  sinks: PlannedComponent<SinkDefinition>[];
}
export interface PlannedTask extends PlannedStepBase {
  kind: 'task';
  task: PlannedComponent<TaskDefinition>;
}
export type PlannedStep = PlannedFlow | PlannedTask;

export interface Plan {
  name: string;
  /** The normalised spec; absent on a plan bound from a ResolvedPlan, which keeps only its steps. */
  spec?: PipelineSpec;
  params: Record<string, unknown>;
  steps: PlannedStep[];
}

export interface PlanOptions {
  registry: Registry;
  params?: Record<string, unknown>;
  /** Where the parameters came from, for the paths of their problems (`params`; an API's `body.parameters`). */
  paramsPath?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Said when `${env.X}` names a variable `env` lacks: the platform says how one is exposed. */
  envNote?: string;
  /**
   * Credentials by name, for components that name one. When absent, such components' configs are
   * not checked against their schema (their missing fields may come from the credential): the
   * platform plans without secrets at the API and with them in the step's process.
   */
  credentials?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

const DEFAULT_CHECKPOINT_EVERY = 100_000;
// Only retryable errors (a dropped connection, a deadlock) are retried, and a retried flow
// resumes from its checkpoint, so retrying by default is safe and what a user expects.
const DEFAULT_ATTEMPTS = 3;

/**
 * Turns a spec document into a runnable plan: shape and DAG checks, parameters, interpolation,
 * then every connector config against its schema and the component's own checks (see
 * Registry.check): whatever a run would refuse before connecting. All problems are reported at once.
 */
export function planPipeline(doc: unknown, opts: PlanOptions): Plan {
  let spec: PipelineSpec;
  try {
    spec = normalizeSpec(doc);
  } catch (err) {
    // A shape problem stops planning, but an unknown connector named beside it is worth knowing
    // at once: a typo in `source:` is often why the rest looks wrong.
    const names = unknownConnectors(doc, opts.registry);
    if (!(err instanceof ConfigError) || names.length === 0) throw err;
    throw new ConfigError('invalid pipeline spec', [...err.issues, ...names], err.code);
  }
  const params = resolveParams(spec.parameters, opts.params ?? {}, opts.paramsPath);
  const scope: Scope = {
    env: opts.env ?? process.env,
    params,
    ...(opts.envNote ? { envNote: opts.envNote } : {}),
  };
  const issues: Issue[] = [];
  const steps: PlannedStep[] = [];
  const shortForm = (doc as { flow?: unknown }).flow !== undefined;
  (spec.steps ?? []).forEach((step, i) => {
    const planned = planStep(step, shortForm ? '' : `steps[${i}]`, opts, scope, issues);
    if (planned) steps.push(planned);
  });
  // Only once every step planned: a dataset's writer may be any step, and a step that failed to
  // plan would make its readers look unserved.
  if (issues.length === 0) issues.push(...datasetIssues(steps.map(datasetStep)), ...stepRefIssues(steps));
  if (
    spec.autostart &&
    issues.length === 0 &&
    !steps.some((s) => s.kind === 'flow' && s.source.def.streaming)
  )
    issues.push({
      path: 'autostart',
      message:
        'only a pipeline that reads a queue (a streaming source such as rabbitmq) starts with the server; ' +
        'run this one on a schedule instead',
    });
  if (issues.length > 0) throw new ConfigError('invalid pipeline spec', issues);
  return { name: spec.name, spec, params, steps };
}

const KINDS = ['source', 'transform', 'sink', 'task'] as const;

/** Connector names in a document that failed its shape check which the registry does not know. */
function unknownConnectors(doc: unknown, registry: Registry): Issue[] {
  if (!isObject(doc)) return [];
  const issues: Issue[] = [];
  const check = (c: unknown, at: string, step: string) => {
    if (!isObject(c)) return;
    for (const kind of KINDS) {
      const name = c[kind];
      if (typeof name !== 'string') continue;
      try {
        registry.get(kind, name, `step "${step}"`);
      } catch (err) {
        issues.push({ path: join(at, kind), message: (err as SluiceError).message });
      }
    }
  };
  const flowOf = (f: unknown, at: string, step: string) => {
    if (Array.isArray(f)) f.forEach((c, j) => check(c, `${join(at, 'flow')}[${j}]`, step));
  };
  flowOf(doc.flow, '', String(doc.name ?? 'main'));
  if (Array.isArray(doc.steps))
    doc.steps.forEach((st, i) => {
      if (!isObject(st)) return;
      const at = `steps[${i}]`;
      const id = String(st.id ?? i);
      check(st, at, id);
      flowOf(st.flow, at, id);
    });
  return issues;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A component names a credential the run was not given. */
export function credentialUnavailable(stepId: string, credential: string, at: string): Issue {
  return {
    path: join(at, 'credential'),
    message: `step "${stepId}": credential "${credential}" is not available: credentials are stored on the platform (POST /api/v1/credentials) and handed to the steps of its jobs`,
  };
}

/** Checks a component's config (filling in its defaults), adding its problems to `issues` under the step's name. */
export function checkComponent(
  registry: Registry,
  def: ConnectorDefinition,
  config: unknown,
  where: { at: string; stepId: string; componentId: string; params: Readonly<Record<string, unknown>> },
  issues: Issue[],
): void {
  const problems = registry.check(def, config, `${where.at}.with`, {
    params: where.params,
    componentId: where.componentId,
  });
  for (const p of problems) issues.push({ path: p.path, message: `step "${where.stepId}": ${p.message}` });
}

/**
 * A credential's fields fill in a config: `with` wins field by field, and objects (a shell task's
 * `env`) are merged one level deep so a config can add to what the credential supplies.
 */
export function withCredential(
  secret: Readonly<Record<string, unknown>>,
  config: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...secret };
  for (const [k, v] of Object.entries(config))
    out[k] = isObject(v) && isObject(out[k]) ? { ...(out[k] as object), ...v } : v;
  return out;
}

function planStep(
  step: StepSpec,
  path: string,
  opts: PlanOptions,
  scope: Scope,
  issues: Issue[],
): PlannedStep | null {
  const registry = opts.registry;
  const base: PlannedStepBase = {
    id: step.id,
    needs: step.needs ?? [],
    retry: {
      attempts: step.retry?.attempts ?? DEFAULT_ATTEMPTS,
      initialDelayMs: toMs(step.retry?.backoff?.initial) ?? 1000,
      maxDelayMs: toMs(step.retry?.backoff?.max) ?? 30_000,
      circuit: circuitSettings(step.retry?.circuit),
    },
    timeoutMs: toMs(step.timeout) || undefined,
    maxQuarantine: step.maxQuarantine,
    checkpointEvery: step.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
    checkpointIntervalMs: toMs(step.checkpointInterval) || undefined,
    ...(step.when === undefined || step.when === 'success' ? {} : { when: step.when }),
    ...(step.runsOn?.length ? { runsOn: [...step.runsOn].sort() } : {}),
    ...(step.partitions === undefined ? {} : { partitions: step.partitions }),
  };
  if (step.retry?.circuit && toMs(step.retry.circuit.halfOpenAfter) === 0)
    issues.push({
      path: join(path, 'retry.circuit.halfOpenAfter'),
      message: `step "${step.id}": a circuit that probes after 0 ms never fails fast; give a positive duration or set \`circuit: false\``,
    });
  if (step.when !== undefined && step.when !== 'success' && base.needs.length === 0)
    issues.push({
      path: join(path, 'when'),
      message: `step "${step.id}": \`when: ${step.when}\` is about the steps this one needs, and it needs none: add needs: [...]`,
    });
  if (toMs(step.timeout) === 0)
    issues.push({
      path: join(path, 'timeout'),
      message: `step "${step.id}": a timeout of 0 would stop the step at once; give a positive duration or omit timeout`,
    });
  const component = <K extends ConnectorDefinition['kind']>(
    kind: K,
    name: string,
    config: unknown,
    at: string,
    label?: string,
    credential?: string,
  ): PlannedComponent<Extract<ConnectorDefinition, { kind: K }>> | null => {
    let def: Extract<ConnectorDefinition, { kind: K }>;
    try {
      def = registry.get(kind, name, `step "${step.id}"`);
    } catch (err) {
      issues.push({ path: join(at, kind), message: (err as SluiceError).message });
      return null;
    }
    const raw = def.kind === 'task' ? (def as TaskDefinition).rawFields : undefined;
    let resolved = interpolate(config ?? {}, scope, `${at}.with`, issues, raw);
    const secret = credential === undefined ? undefined : opts.credentials?.[credential];
    if (credential !== undefined && opts.credentials && !secret)
      issues.push(credentialUnavailable(step.id, credential, at));
    if (secret) resolved = withCredential(secret, resolved as Record<string, unknown>);
    // Flow components are numbered by position; a task step has one component, named by the step.
    const index = at.match(/flow\[(\d+)\]$/)?.[1];
    const id = label
      ? `${step.id}.${label}`
      : index === undefined
        ? `${step.id}:${name}`
        : `${step.id}.${index}:${name}`;
    if (credential === undefined || opts.credentials)
      checkComponent(
        registry,
        def,
        resolved,
        { at, stepId: step.id, componentId: id, params: scope.params },
        issues,
      );
    return {
      def,
      config: resolved,
      id,
      path: at,
      ...(credential === undefined ? {} : { credential }),
    };
  };
  if (step.task) {
    const task = component('task', step.task, step.with, path, undefined, step.credential);
    return task ? { ...base, kind: 'task', task } : null;
  }
  const flow = step.flow ?? [];
  const parts = flow.map((c: ComponentSpec, j) => {
    const at = `${join(path, 'flow')}[${j}]`;
    if (c.source !== undefined) return component('source', c.source, c.with, at, c.id, c.credential);
    if (c.transform !== undefined) return component('transform', c.transform, c.with, at, c.id, c.credential);
    return component('sink', c.sink!, c.with, at, c.id, c.credential);
  });
  if (parts.some((p) => p === null)) return null;
  const all = parts as PlannedComponent[];
  // A stage that holds its input until the input ends never lets a stream checkpoint: its messages
  // would wait unacknowledged until the broker stops sending.
  if (all[0]?.def.kind === 'source' && (all[0].def as SourceDefinition).streaming)
    for (const t of all)
      if (t.def.kind === 'transform' && (t.def as TransformDefinition).holdsInput)
        issues.push({
          path: join(t.path, 'transform'),
          message:
            `step "${step.id}": ${t.def.name} holds every row until its input ends, and ${all[0].def.name}'s ` +
            "input never ends: aggregate in the destination, or bound the read with the source's stopAfter and " +
            'run the aggregation in a later step',
        });
  if (step.partitions !== undefined) issues.push(...partitionIssues(step.id, join(path, 'partitions'), all));
  return {
    ...base,
    kind: 'flow',
    source: all[0] as PlannedComponent<SourceDefinition>,
    transforms: all.filter((p) => p.def.kind === 'transform') as PlannedComponent<TransformDefinition>[],
    sinks: all.filter((p) => p.def.kind === 'sink') as PlannedComponent<SinkDefinition>[],
  };
}

/**
 * What keeps a flow from running as partitions: each part is read, transformed and written on its
 * own, so the source must know how to cut its input, every transform must work row by row (a
 * dedupe or an aggregation would see one part only) and every sink must take parts at once.
 */
function partitionIssues(stepId: string, at: string, components: PlannedComponent[]): Issue[] {
  const issues: Issue[] = [];
  const refuse = (message: string) => issues.push({ path: at, message: `step "${stepId}": ${message}` });
  for (const c of components) {
    const def = c.def;
    if (def.kind === 'source') {
      const cut = (def as SourceDefinition).partitions;
      const why = cut?.check?.(c.config);
      if (def.streaming) refuse(`${def.name} reads a stream, which has no end to cut into parts`);
      else if (!cut)
        refuse(
          `source ${def.name} cannot cut its input into parts; partitioned sources: a csv or ndjson file, a glob of files, ` +
            'a mysql or postgres table',
        );
      else if (why) refuse(`source ${def.name}: ${why}`);
    } else if (def.kind === 'transform' && (def as TransformDefinition).rowLocal !== true)
      refuse(
        `transform ${def.name} (${c.path}) needs the rows of every part at once; partitions allow only row-by-row ` +
          'transforms (filter, map, select, cast, validate, rename, flatten, unnest): move it to a later step',
      );
    else if (def.kind === 'sink') {
      const take = (def as SinkDefinition).partitions;
      const why = take?.check?.(c.config);
      if (!take)
        refuse(
          `sink ${def.name} (${c.path}) cannot take rows from several partitions at once; partitioned sinks: postgres, mysql`,
        );
      else if (why) refuse(`sink ${def.name} (${c.path}): ${why}`);
    }
  }
  return issues;
}

/** A planned step as the dataset checks see it. */
export function datasetStep(step: PlannedStep) {
  const components = step.kind === 'task' ? [step.task] : [step.source, ...step.transforms, ...step.sinks];
  return { id: step.id, needs: step.needs, components };
}

function circuitSettings(spec: { failures?: number; halfOpenAfter?: number | string } | false | undefined) {
  if (spec === false) return false;
  return {
    failures: spec?.failures ?? CIRCUIT_DEFAULTS.failures,
    halfOpenAfterMs: toMs(spec?.halfOpenAfter) ?? CIRCUIT_DEFAULTS.halfOpenAfterMs,
  };
}
