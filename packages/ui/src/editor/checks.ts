import type { Issue } from '../api/client.ts';
import type { Connector, JsonSchema, PipelineSpec, StepSpec } from '../api/types.ts';
import { validate } from '../components/schema-form.tsx';
import { connectorOf, flowOrderProblems, NAME_PATTERN, roleOf, stepKind } from './spec-model.ts';

// What the editor can check before asking the server, reported at the same JSON paths the server
// uses so both land in the same places. The server stays the judge (it also checks expressions,
// credentials and connector names); this catches the common slips as you go.

export type SchemaOf = (kind: Connector['kind'], name: string) => JsonSchema | undefined;

const DURATION = /^\d+(\.\d+)?(ms|s|m|h)$/;

export function checkSpec(spec: PipelineSpec, schemaOf: SchemaOf): Issue[] {
  const out: Issue[] = [];
  if (!spec.name) out.push({ path: 'name', message: 'is required' });
  else if (!NAME_PATTERN.test(spec.name))
    out.push({ path: 'name', message: 'starts with a letter or digit; then letters, digits, _ . -' });
  const steps = spec.steps ?? [];
  if (steps.length === 0) out.push({ path: '(root)', message: 'a pipeline needs at least one step' });
  const ids = new Map<string, number>();
  steps.forEach((s, i) => {
    if (ids.has(s.id))
      out.push({
        path: `steps[${i}].id`,
        message: `duplicate step id "${s.id}" (also step ${ids.get(s.id)! + 1})`,
      });
    else ids.set(s.id, i);
  });
  steps.forEach((s, i) => out.push(...checkStep(s, `steps[${i}]`, ids, schemaOf)));
  // Cycles: the canvas and the needs boxes refuse to close one (cycleIf); one written in YAML
  // is the server's to report, with the cycle spelled out.
  return out;
}

function checkStep(s: StepSpec, at: string, ids: Map<string, number>, schemaOf: SchemaOf): Issue[] {
  const out: Issue[] = [];
  if (!s.id) out.push({ path: `${at}.id`, message: 'is required' });
  else if (!NAME_PATTERN.test(s.id))
    out.push({ path: `${at}.id`, message: 'starts with a letter or digit; then letters, digits, _ . -' });
  (s.needs ?? []).forEach((n, k) => {
    if (n === s.id) out.push({ path: `${at}.needs[${k}]`, message: `step "${n}" needs itself` });
    else if (!ids.has(n)) out.push({ path: `${at}.needs[${k}]`, message: `unknown step "${n}"` });
  });
  if (s.timeout !== undefined && !(typeof s.timeout === 'number' ? s.timeout >= 0 : DURATION.test(s.timeout)))
    out.push({ path: `${at}.timeout`, message: 'milliseconds, or a duration such as 500ms, 30s, 5m, 1h' });
  if (s.retry && !(Number.isInteger(s.retry.attempts) && s.retry.attempts >= 1))
    out.push({ path: `${at}.retry.attempts`, message: 'a whole number ≥ 1' });
  const config = (c: Record<string, unknown> | undefined, schema: JsonSchema | undefined, base: string) => {
    if (schema)
      for (const e of validate(schema, c ?? {}))
        out.push({ path: e.path ? `${base}.${e.path}` : base, message: e.message });
  };
  if (stepKind(s) === 'task') {
    if (!s.task) out.push({ path: `${at}.task`, message: 'choose a task connector' });
    else config(s.with, schemaOf('task', s.task), `${at}.with`);
    return out;
  }
  const flow = s.flow ?? [];
  for (const p of flowOrderProblems(flow))
    out.push({ path: p.index === null ? `${at}.flow` : `${at}.flow[${p.index}]`, message: p.message });
  flow.forEach((c, j) => {
    const name = connectorOf(c);
    if (!name) out.push({ path: `${at}.flow[${j}]`, message: `choose a ${roleOf(c)} connector` });
    else config(c.with, schemaOf(roleOf(c), name), `${at}.flow[${j}].with`);
  });
  return out;
}
