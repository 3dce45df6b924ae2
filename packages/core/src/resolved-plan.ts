import type {
  ConnectorDefinition,
  ConnectorKind,
  SinkDefinition,
  SourceDefinition,
  TaskDefinition,
  TransformDefinition,
} from './connector.ts';
import { ConfigError, ErrorCode, type Issue, SluiceError } from './errors.ts';
import {
  checkComponent,
  credentialUnavailable,
  type Plan,
  type PlannedComponent,
  type PlannedStep,
  type PlannedStepBase,
  type PlanOptions,
  planPipeline,
  withCredential,
} from './plan.ts';
import type { Registry } from './registry.ts';
import { join } from './spec.ts';

/** The ResolvedPlan layout this engine writes and reads. */
export const RESOLVED_PLAN_FORMAT = 1;

/** A component of a resolved plan: its connector named, not its definition (functions do not travel). */
export interface ResolvedComponent {
  kind: ConnectorKind;
  connector: string;
  /** The connector's version when the config was checked: another version checks it again. */
  version: string;
  /** Parameters and environment filled in, defaults applied; never a credential's fields. */
  config: unknown;
  id: string;
  /** JSON path of the component in the spec, for errors. */
  path: string;
  /** The stored credential whose fields fill in `config` when the plan is bound to run. */
  credential?: string;
}

export interface ResolvedFlow extends PlannedStepBase {
  kind: 'flow';
  source: ResolvedComponent;
  transforms: ResolvedComponent[];
  sinks: ResolvedComponent[];
}
export interface ResolvedTask extends PlannedStepBase {
  kind: 'task';
  task: ResolvedComponent;
}
export type ResolvedStep = ResolvedFlow | ResolvedTask;

/**
 * A pipeline planned once, as plain data: what the platform stores with a job and hands to each
 * step's process. It holds no secret (credentials are merged in by bindPlan, where the step runs),
 * so it may be stored, logged and sent anywhere the spec may.
 */
export interface ResolvedPlan {
  format: typeof RESOLVED_PLAN_FORMAT;
  name: string;
  params: Record<string, unknown>;
  steps: ResolvedStep[];
  /** The spec's `isolation: none`: tasks that allow it run in the worker. Absent: in step processes. */
  isolation?: 'none';
}

/**
 * Plans a spec document (see planPipeline) without credentials and keeps the result as data.
 * Configs of components that name a credential are checked when the plan is bound with it.
 */
export function resolvePlan(doc: unknown, opts: Omit<PlanOptions, 'credentials'>): ResolvedPlan {
  // Built field by field: a caller's stray `credentials` must never put secrets in the plan.
  const plan = planPipeline(doc, {
    registry: opts.registry,
    ...(opts.params ? { params: opts.params } : {}),
    ...(opts.paramsPath ? { paramsPath: opts.paramsPath } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.envNote ? { envNote: opts.envNote } : {}),
  });
  return {
    format: RESOLVED_PLAN_FORMAT,
    name: plan.name,
    params: plan.params,
    steps: plan.steps.map(resolveStep),
    ...((doc as { isolation?: unknown } | null)?.isolation === 'none' ? { isolation: 'none' as const } : {}),
  };
}

function resolveStep(step: PlannedStep): ResolvedStep {
  const {
    id,
    needs,
    retry,
    timeoutMs,
    maxQuarantine,
    checkpointEvery,
    checkpointIntervalMs,
    when,
    runsOn,
    partitions,
  } = step;
  const base = {
    id,
    needs,
    retry,
    timeoutMs,
    maxQuarantine,
    checkpointEvery,
    checkpointIntervalMs,
    ...(when === undefined ? {} : { when }),
    ...(runsOn ? { runsOn } : {}),
    ...(partitions === undefined ? {} : { partitions }),
  };
  if (step.kind === 'task') return { ...base, kind: 'task', task: resolveComponent(step.task) };
  return {
    ...base,
    kind: 'flow',
    source: resolveComponent(step.source),
    transforms: step.transforms.map(resolveComponent),
    sinks: step.sinks.map(resolveComponent),
  };
}

function resolveComponent(c: PlannedComponent): ResolvedComponent {
  return {
    kind: c.def.kind,
    connector: c.def.name,
    version: c.def.version,
    config: c.config,
    id: c.id,
    path: c.path,
    ...(c.credential === undefined ? {} : { credential: c.credential }),
  };
}

export interface BindOptions {
  /** Where the connectors are found again by name. */
  registry: Registry;
  /**
   * Credentials by name for the components that name one: their fields are merged into the
   * config, which is then checked. When absent, such components are bound unchecked and without
   * secrets (enough to schedule the steps, not to run them).
   */
  credentials?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/**
 * Turns a resolved plan back into a runnable one in this process: each connector is found by
 * name and, for a component that names a credential, the credential is merged in and the config
 * checked. A config is also checked again when the registry holds another version of its
 * connector than the one that planned it. All problems are reported at once, as a ConfigError
 * with the spec's paths; the resolved plan itself is never changed.
 */
export function bindPlan(resolved: ResolvedPlan, opts: BindOptions): Plan {
  if (resolved?.format !== RESOLVED_PLAN_FORMAT) {
    throw new SluiceError(
      ErrorCode.SPEC,
      `a resolved plan of format ${String(resolved?.format)} cannot be run by this engine, which reads format ${RESOLVED_PLAN_FORMAT}: run it with the version of Sluice that planned it, or plan the pipeline again`,
    );
  }
  const issues: Issue[] = [];
  const bind = <D extends ConnectorDefinition>(
    step: ResolvedStep,
    c: ResolvedComponent,
  ): PlannedComponent<D> | null => {
    let def: ConnectorDefinition;
    try {
      def = opts.registry.get(c.kind, c.connector, `step "${step.id}"`);
    } catch (err) {
      issues.push({ path: join(c.path, c.kind), message: (err as SluiceError).message });
      return null;
    }
    let config = structuredClone(c.config ?? {});
    const where = { at: c.path, stepId: step.id, componentId: c.id, params: resolved.params };
    if (c.credential !== undefined && opts.credentials) {
      const secret = opts.credentials[c.credential];
      if (!secret) issues.push(credentialUnavailable(step.id, c.credential, c.path));
      else {
        config = withCredential(secret, config as Record<string, unknown>);
        checkComponent(opts.registry, def, config, where, issues);
      }
    } else if (def.version !== c.version) checkComponent(opts.registry, def, config, where, issues);
    return {
      def: def as D,
      config,
      id: c.id,
      path: c.path,
      ...(c.credential === undefined ? {} : { credential: c.credential }),
    };
  };
  const steps = resolved.steps.map((step): PlannedStep | null => {
    const {
      id,
      needs,
      retry,
      timeoutMs,
      maxQuarantine,
      checkpointEvery,
      checkpointIntervalMs,
      when,
      runsOn,
      partitions,
    } = step;
    const base = {
      id,
      needs: [...needs],
      retry,
      timeoutMs,
      maxQuarantine,
      checkpointEvery,
      checkpointIntervalMs,
      ...(when === undefined ? {} : { when }),
      ...(runsOn ? { runsOn: [...runsOn] } : {}),
      ...(partitions === undefined ? {} : { partitions }),
    };
    if (step.kind === 'task') {
      const task = bind<TaskDefinition>(step, step.task);
      return task ? { ...base, kind: 'task', task } : null;
    }
    const source = bind<SourceDefinition>(step, step.source);
    const transforms = step.transforms.map((t) => bind<TransformDefinition>(step, t));
    const sinks = step.sinks.map((t) => bind<SinkDefinition>(step, t));
    if (!source || transforms.includes(null) || sinks.includes(null)) return null;
    return {
      ...base,
      kind: 'flow',
      source,
      transforms: transforms as PlannedComponent<TransformDefinition>[],
      sinks: sinks as PlannedComponent<SinkDefinition>[],
    };
  });
  if (issues.length > 0) throw new ConfigError('invalid pipeline spec', issues);
  return { name: resolved.name, params: resolved.params, steps: steps as PlannedStep[] };
}
