import type { ComponentSpec, PipelineSpec, StepSpec } from '../api/types.ts';

// The editor's document is the spec the API stores, always in the `steps` form; every edit is a
// pure function from one spec to the next, so the canvas, the forms and the YAML view stay one
// document and the rules can be tested without rendering.

export type Role = 'source' | 'transform' | 'sink';
export const ROLES: readonly Role[] = ['source', 'transform', 'sink'];

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Which of source/transform/sink a component is (the first one named, if several are). */
export function roleOf(c: ComponentSpec): Role {
  return ROLES.find((r) => c[r] !== undefined) ?? 'transform';
}

export const connectorOf = (c: ComponentSpec): string => c[roleOf(c)] ?? '';

/** A component as `role: connector`, keeping its config, credential and label. */
export function withConnector(c: ComponentSpec, role: Role, name: string): ComponentSpec {
  const { source, transform, sink, ...rest } = c;
  void source;
  void transform;
  void sink;
  // A different connector's config would be checked against the wrong schema: start it empty.
  const keep = role === roleOf(c) && name === connectorOf(c);
  const next: ComponentSpec = { [role]: name, ...rest };
  if (!keep) delete next.with;
  return next;
}

/** A copy of `o` with `key` set, or without it when `value` is undefined or '' (YAML stays tidy). */
export function withField<T extends object, K extends keyof T>(o: T, key: K, value: T[K] | undefined): T {
  const next = { ...o };
  if (value === undefined || value === '') delete next[key];
  else next[key] = value;
  return next;
}

export const stepKind = (s: StepSpec): 'flow' | 'task' => (s.task !== undefined && !s.flow ? 'task' : 'flow');

/**
 * The short form (`flow:` at the top) as one step called `main`, the way the engine reads it; the
 * step options that may sit at the top move into that step. A `steps` document is returned as is.
 */
export function toStepsForm(doc: PipelineSpec): PipelineSpec {
  if (!doc.flow || doc.steps) return doc;
  const { name, description, parameters, flow, steps, ...options } = doc as PipelineSpec &
    Record<string, unknown>;
  void steps;
  return {
    name,
    ...(description === undefined ? {} : { description }),
    ...(parameters === undefined ? {} : { parameters }),
    steps: [{ id: 'main', flow, ...options }],
  };
}

export function emptySpec(): PipelineSpec {
  return { name: '', steps: [] };
}

/** A step id not yet taken: `base`, `base-2`, `base-3`… */
export function freshId(spec: PipelineSpec, base: string): string {
  const taken = new Set((spec.steps ?? []).map((s) => s.id));
  if (!taken.has(base)) return base;
  let n = 2;
  while (taken.has(`${base}-${n}`)) n++;
  return `${base}-${n}`;
}

export function newStep(spec: PipelineSpec, kind: 'flow' | 'task'): StepSpec {
  if (kind === 'task') return { id: freshId(spec, 'task'), task: 'shell', with: {} };
  return {
    id: freshId(spec, 'flow'),
    flow: [
      { source: '', with: {} },
      { sink: '', with: {} },
    ],
  };
}

const steps = (spec: PipelineSpec) => spec.steps ?? [];

export function addStep(spec: PipelineSpec, step: StepSpec): PipelineSpec {
  return { ...spec, steps: [...steps(spec), step] };
}

/** Removes step `i` and every `needs` entry that named it. */
export function removeStep(spec: PipelineSpec, i: number): PipelineSpec {
  const gone = steps(spec)[i]?.id;
  return {
    ...spec,
    steps: steps(spec)
      .filter((_, k) => k !== i)
      .map((s) => (s.needs?.includes(gone ?? '') ? dropNeeds(s, gone!) : s)),
  };
}

function dropNeeds(s: StepSpec, id: string): StepSpec {
  const needs = (s.needs ?? []).filter((n) => n !== id);
  return withField(s, 'needs', needs.length ? needs : undefined);
}

export function updateStep(spec: PipelineSpec, i: number, f: (s: StepSpec) => StepSpec): PipelineSpec {
  return { ...spec, steps: steps(spec).map((s, k) => (k === i ? f(s) : s)) };
}

/** Renames step `i`, and the `needs` of other steps follow it. */
export function renameStep(spec: PipelineSpec, i: number, id: string): PipelineSpec {
  const old = steps(spec)[i]?.id;
  return {
    ...spec,
    steps: steps(spec).map((s, k) => {
      if (k === i) return { ...s, id };
      if (old && s.needs?.includes(old)) return { ...s, needs: s.needs.map((n) => (n === old ? id : n)) };
      return s;
    }),
  };
}

/** Drawing an edge from step `from` to step `to`: `to` needs `from`. Self-edges and repeats are ignored. */
export function addNeed(spec: PipelineSpec, from: string, to: string): PipelineSpec {
  if (from === to) return spec;
  return {
    ...spec,
    steps: steps(spec).map((s) =>
      s.id === to && !s.needs?.includes(from) ? { ...s, needs: [...(s.needs ?? []), from] } : s,
    ),
  };
}

/** Why `to` may not need `from` (the cycle it would close), or null when it may. */
export function cycleIf(spec: PipelineSpec, from: string, to: string): string | null {
  if (from === to) return `step "${from}" cannot need itself`;
  // With duplicate ids, the first step of an id is the one `needs` means (as in @sluice/core).
  const needs = new Map<string, string[]>();
  for (const s of steps(spec)) if (!needs.has(s.id)) needs.set(s.id, s.needs ?? []);
  const seen = new Set<string>();
  const chain = (id: string): string[] | null => {
    if (id === to) return [id];
    if (seen.has(id)) return null;
    seen.add(id);
    for (const n of needs.get(id) ?? []) {
      const rest = chain(n);
      if (rest) return [id, ...rest];
    }
    return null;
  };
  const found = chain(from);
  return found
    ? `"${to}" cannot need "${from}": that would make a cycle, ${[to, ...found].join(' → ')}`
    : null;
}

export function removeNeed(spec: PipelineSpec, from: string, to: string): PipelineSpec {
  return { ...spec, steps: steps(spec).map((s) => (s.id === to ? dropNeeds(s, from) : s)) };
}

/** Makes step `i` a flow or a task, keeping id, needs, retry and timeout. */
export function setStepKind(spec: PipelineSpec, i: number, kind: 'flow' | 'task'): PipelineSpec {
  return updateStep(spec, i, (s) => {
    if (stepKind(s) === kind) return s;
    const { flow, task, with: config, credential, ...common } = s;
    void flow;
    void task;
    void config;
    void credential;
    const fresh = newStep(spec, kind);
    return kind === 'task' ? { ...common, task: fresh.task!, with: {} } : { ...common, flow: fresh.flow! };
  });
}

// Flow components ------------------------------------------------------------------------------

export function updateComponent(
  spec: PipelineSpec,
  i: number,
  j: number,
  f: (c: ComponentSpec) => ComponentSpec,
): PipelineSpec {
  return updateStep(spec, i, (s) => ({ ...s, flow: (s.flow ?? []).map((c, k) => (k === j ? f(c) : c)) }));
}

/** A new transform goes before the first sink; a new sink goes last. */
export function addComponent(spec: PipelineSpec, i: number, role: Role): PipelineSpec {
  return updateStep(spec, i, (s) => {
    const flow = [...(s.flow ?? [])];
    const c: ComponentSpec = { [role]: '', with: {} };
    if (role === 'source') flow.unshift(c);
    else if (role === 'sink') flow.push(c);
    else {
      const firstSink = flow.findIndex((x) => roleOf(x) === 'sink');
      flow.splice(firstSink === -1 ? flow.length : firstSink, 0, c);
    }
    return { ...s, flow };
  });
}

export function removeComponent(spec: PipelineSpec, i: number, j: number): PipelineSpec {
  return updateStep(spec, i, (s) => ({ ...s, flow: (s.flow ?? []).filter((_, k) => k !== j) }));
}

/** Swaps component `j` with its neighbour `j + by` (by = -1 or 1); out of range is a no-op. */
export function moveComponent(spec: PipelineSpec, i: number, j: number, by: -1 | 1): PipelineSpec {
  return updateStep(spec, i, (s) => {
    const flow = [...(s.flow ?? [])];
    const k = j + by;
    if (k < 0 || k >= flow.length) return s;
    [flow[j], flow[k]] = [flow[k]!, flow[j]!];
    return { ...s, flow };
  });
}

/** The order rules of a flow (docs/pipeline-spec.md), as messages per component index. */
export function flowOrderProblems(flow: ComponentSpec[]): { index: number | null; message: string }[] {
  const out: { index: number | null; message: string }[] = [];
  const roles = flow.map(roleOf);
  if (roles[0] !== 'source') out.push({ index: 0, message: 'a flow starts with a source' });
  roles.forEach((r, j) => {
    if (r === 'source' && j !== 0) out.push({ index: j, message: 'a source must be the first component' });
    if (r === 'sink' && roles.slice(j + 1).some((x) => x !== 'sink'))
      out.push({ index: j, message: 'sinks come last in a flow' });
  });
  if (!roles.includes('sink')) out.push({ index: null, message: 'a flow ends with at least one sink' });
  return out;
}
