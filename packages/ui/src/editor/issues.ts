import type { Issue } from '../api/client.ts';
import type { FieldError } from '../components/schema-form.tsx';

// The server reports every problem at a JSON path of the spec (`spec.steps[0].flow[1].with.where`
// from POST /pipelines, `steps[0]…` from /validate, `flow[1]…` for a short-form document). The
// editor shows each one where it can be fixed: in its step's panel, on its component, under the
// config field it names; what concerns no step stays at the top.

type Segment = string | number;

/** `steps[0].flow[1].with["unit price"]` → ['steps', 0, 'flow', 1, 'with', 'unit price']. */
export function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[\]]+)/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) out.push(Number(m[1]));
    else if (m[2] !== undefined) out.push(JSON.parse(m[2]) as string);
    else if (m[3] !== undefined) out.push(m[3]);
  }
  return out;
}

export interface Location {
  /** Index of the step, or null when the problem concerns the whole document. */
  step: number | null;
  /** Index of the flow component, when the problem is inside one. */
  component: number | null;
  /** The config field under `with`, in SchemaFields' dotted form (`set.total`); '' for `with` itself. */
  field: string | null;
  /** What is left of the path inside the step or component (`needs[1]`, `id`), for display. */
  rest: string;
  message: string;
}

const REQUIRED = /^missing required property "(.+)"$/;

/** Where `issue` belongs. `shortForm`: the document had `flow:` at the top (its one step is index 0). */
export function locate(issue: Issue, shortForm = false): Location {
  let segs = parsePath(issue.path);
  if (segs[0] === 'spec') segs = segs.slice(1);
  let step: number | null = null;
  if (segs[0] === 'steps' && typeof segs[1] === 'number') {
    step = segs[1];
    segs = segs.slice(2);
  } else if (
    shortForm &&
    segs.length > 0 &&
    segs[0] !== 'name' &&
    segs[0] !== 'parameters' &&
    segs[0] !== '(root)'
  ) {
    step = 0;
  }
  // Inside its step's panel, the server's `step "load": ` prefix says nothing new.
  const said = step === null ? issue.message : issue.message.replace(/^step "[^"]*": /, '');
  const none = { step, component: null, field: null, message: said };
  if (step === null) return { ...none, rest: format(segs) };
  let component: number | null = null;
  if (segs[0] === 'flow' && typeof segs[1] === 'number') {
    component = segs[1];
    segs = segs.slice(2);
  }
  if (segs[0] !== 'with') return { ...none, component, rest: format(segs) };
  const names: string[] = [];
  let k = 1;
  for (; k < segs.length && typeof segs[k] === 'string'; k++) names.push(segs[k] as string);
  let message = said;
  const missing = REQUIRED.exec(message);
  if (missing && k === segs.length) {
    names.push(missing[1]!);
    message = 'is required';
  }
  // SchemaFields draws arrays as one control: an item's problem shows on the array, naming the item.
  if (k < segs.length) {
    const tail = segs.slice(k);
    const item = typeof tail[0] === 'number' ? `item ${tail[0] + 1}` : format(tail);
    const more = tail.length > 1 ? ` (${format(tail.slice(1))})` : '';
    message = `${item}${more}: ${message}`;
  }
  return { step, component, field: names.join('.'), rest: format(segs), message };
}

function format(segs: Segment[]): string {
  return segs.reduce<string>(
    (out, s) =>
      typeof s === 'number'
        ? `${out}[${s}]`
        : /^[A-Za-z_$][\w$-]*$/.test(s)
          ? out
            ? `${out}.${s}`
            : s
          : `${out}[${JSON.stringify(s)}]`,
    '',
  );
}

export interface ComponentIssues {
  /** Problems of the component itself (its connector, order, credential). */
  own: Location[];
  /** Problems of its config, for SchemaFields' `errors`. */
  config: FieldError[];
}
export interface StepIssues {
  own: Location[];
  /** A task step's config problems. */
  config: FieldError[];
  components: Map<number, ComponentIssues>;
  count: number;
}
export interface GroupedIssues {
  global: Issue[];
  steps: Map<number, StepIssues>;
}

/** Issues sorted into the step, component and field they concern. */
export function groupIssues(issues: Issue[], shortForm = false): GroupedIssues {
  const out: GroupedIssues = { global: [], steps: new Map() };
  for (const issue of issues) {
    const at = locate(issue, shortForm);
    if (at.step === null) {
      out.global.push(issue);
      continue;
    }
    let s = out.steps.get(at.step);
    if (!s) {
      s = { own: [], config: [], components: new Map(), count: 0 };
      out.steps.set(at.step, s);
    }
    s.count++;
    const configError = at.field === null ? null : { path: at.field, message: at.message };
    if (at.component === null) {
      if (configError && at.field !== '') s.config.push(configError);
      else s.own.push(at);
      continue;
    }
    let c = s.components.get(at.component);
    if (!c) {
      c = { own: [], config: [] };
      s.components.set(at.component, c);
    }
    if (configError && at.field !== '') c.config.push(configError);
    else c.own.push(at);
  }
  return out;
}

/** The step ids a "cycle in needs: a → b → a" message names, to highlight them on the canvas. */
export function cycleSteps(message: string): string[] {
  const m = /cycle in needs: (.+)$/.exec(message);
  return m ? [...new Set(m[1]!.split(' → ').map((x) => x.trim()))] : [];
}
