import { type Static, Type } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { MAX_SPEC_DEPTH, nestingDepthIssue } from './depth.ts';
import { ConfigError, ErrorCode, type Issue, SluiceError } from './errors.ts';
import { validateAgainst } from './internal/validate.ts';
import { yamlTooDeepAt } from './internal/yaml-depth.ts';

const Duration = Type.Union(
  [Type.Integer({ minimum: 0 }), Type.String({ pattern: '^\\d+(\\.\\d+)?(ms|s|m|h)$' })],
  {
    description: 'Milliseconds, or a string such as "500ms", "30s", "5m", "1h".',
  },
);

const With = Type.Record(Type.String(), Type.Unknown(), { description: "The connector's config." });
const Credential = Type.Optional(
  Type.String({
    pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
    description:
      "A stored credential (the platform's) whose fields fill in this config at run time; fields in `with` win.",
  }),
);
const Label = Type.Optional(
  Type.String({
    pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
    description: 'A name for this component in reports and checkpoints, unique within its step.',
  }),
);

/** One component of a flow: exactly one of `source`, `transform`, `sink` (checked after the shape). */
export const ComponentSpec = Type.Object(
  {
    source: Type.Optional(Type.String({ description: 'A source connector, first in a flow.' })),
    transform: Type.Optional(Type.String({ description: 'A transform connector.' })),
    sink: Type.Optional(Type.String({ description: 'A sink connector, last in a flow.' })),
    with: Type.Optional(With),
    credential: Credential,
    id: Label,
  },
  { additionalProperties: false },
);
export type ComponentSpec = Static<typeof ComponentSpec>;

export const RetrySpec = Type.Object(
  {
    attempts: Type.Integer({ minimum: 1, default: 3, description: 'Total attempts, the first included.' }),
    backoff: Type.Optional(
      Type.Object(
        {
          initial: Type.Optional(Duration),
          max: Type.Optional(Duration),
        },
        { additionalProperties: false, description: 'Exponential backoff with jitter between attempts.' },
      ),
    ),
    circuit: Type.Optional(
      Type.Union(
        [
          Type.Literal(false),
          Type.Object(
            {
              failures: Type.Optional(
                Type.Integer({
                  minimum: 1,
                  default: 5,
                  description: 'Consecutive connection failures to one endpoint that open its circuit.',
                }),
              ),
              halfOpenAfter: Type.Optional(Duration),
            },
            { additionalProperties: false },
          ),
        ],
        {
          description:
            'Circuit breaker per endpoint (host:port) and process: after `failures` consecutive connection failures, ' +
            'connecting fails fast with CIRCUIT_OPEN until, `halfOpenAfter` (default 30s) later, one probe connects. ' +
            '`false` turns it off.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

const When = Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('always')], {
  description:
    'When the step runs once the steps it needs have finished: `success` (default) when all succeeded, ' +
    '`failure` when one failed (it is skipped otherwise), `always` whatever they did (not after a cancel). ' +
    'A step that reports a failure, e.g. a notify step, uses `failure` or `always`.',
});
export type StepWhen = Static<typeof When>;
/** Worker tags: lower-case words, so a set of them joins into a queue name unambiguously. */
export const WORKER_TAG_PATTERN = '^[a-z0-9][a-z0-9_-]*$';
/** Tags one step (or one worker) may name: a worker takes jobs from a queue per subset of its tags. */
export const MAX_WORKER_TAGS = 8;
/** The highest `concurrency` a pipeline may declare; more is no limit worth keeping. */
export const MAX_PIPELINE_CONCURRENCY = 100;
/** The most partitions a step may be cut into: each is a queue message, a row and a process. */
export const MAX_STEP_PARTITIONS = 256;

const StepOptions = {
  needs: Type.Optional(
    Type.Array(Type.String(), {
      uniqueItems: true,
      description: 'Steps that must finish before this one (and succeed, unless `when` says otherwise).',
    }),
  ),
  when: Type.Optional(When),
  retry: Type.Optional(RetrySpec),
  timeout: Type.Optional(Duration),
  maxQuarantine: Type.Optional(
    Type.Integer({ minimum: 0, description: 'Fail the step when more rows than this are quarantined.' }),
  ),
  checkpointEvery: Type.Optional(
    Type.Integer({ minimum: 1, description: 'Rows between checkpoints (default 100000).' }),
  ),
  checkpointInterval: Type.Optional(
    Type.Union(Duration.anyOf, {
      description:
        'Longest time between checkpoints while rows flow (default 5s for a streaming source such as a queue, none otherwise).',
    }),
  ),
  partitions: Type.Optional(
    Type.Integer({
      minimum: 2,
      maximum: MAX_STEP_PARTITIONS,
      description:
        "Platform: cut the flow's input into this many parts (a file's byte ranges, a glob's files, a table's key " +
        "ranges) and run each as a partition job on any worker; each resumes on its own, and the step's report sums " +
        'them (docs/partitions.md). The CLI runs the flow whole.',
    }),
  ),
  runsOn: Type.Optional(
    Type.Array(Type.String({ pattern: WORKER_TAG_PATTERN, maxLength: 40 }), {
      uniqueItems: true,
      maxItems: MAX_WORKER_TAGS,
      description:
        'Platform: worker tags this step needs, e.g. [browser]. Its job runs only on a worker started with all ' +
        'of them (`sluice worker --tags browser`); the CLI ignores them.',
    }),
  ),
};

export const StepSpec = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'Unique step id.' }),
    flow: Type.Optional(Type.Array(ComponentSpec, { minItems: 2 })),
    task: Type.Optional(Type.String({ description: 'A task connector, e.g. shell.' })),
    with: Type.Optional(With),
    credential: Credential,
    ...StepOptions,
  },
  { additionalProperties: false },
);
export type StepSpec = Static<typeof StepSpec>;

export const PipelineSpec = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }),
    description: Type.Optional(Type.String()),
    autostart: Type.Optional(
      Type.Boolean({
        description:
          'Platform: start a job of this pipeline whenever `sluice serve` starts and none is running. Only for a ' +
          'pipeline that reads a queue (its flow runs until cancelled).',
      }),
    ),
    parameters: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'JSON Schema of run parameters.',
        'x-json-schema': true,
      }),
    ),
    triggers: Type.Optional(
      Type.Object(
        {
          onSuccessOf: Type.Optional(
            Type.Array(Type.String({ minLength: 1, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }), {
              description:
                'Platform: names of pipelines whose every successful job starts a job of this one (any of them, ' +
                'not all). Loops (a → b → a) are refused when the pipeline is saved; a name no pipeline has yet is a ' +
                'warning. The upstream job’s parameters this pipeline declares are passed on under the same names.',
            }),
          ),
          onDatasetUpdate: Type.Optional(
            Type.Array(
              Type.String({
                pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_-]*$',
                examples: ['orders-daily/orders'],
              }),
              {
                description:
                  'Platform: datasets, as `<pipeline>/<dataset>`, whose every update starts a job of this one (any of ' +
                  'them, not all): a successful job of that pipeline that stored the dataset (`sink: dataset`). The ' +
                  'started job reads it with `source: dataset` and `pipeline`, getting exactly that update.',
              },
            ),
          ),
          params: Type.Optional(
            Type.Record(Type.String(), Type.Unknown(), {
              description:
                'Platform: parameters of the started job, over those passed on by name. Strings may use ' +
                '`${upstream.params.x}`, `${upstream.jobId}`, `${upstream.pipeline}` and `${upstream.completedAt}`; ' +
                'a string that is one placeholder keeps the value’s type.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            'Platform: what starts this pipeline besides schedules, webhooks and people (docs/webhooks.md).',
        },
      ),
    ),
    priority: Type.Optional(
      Type.Integer({
        minimum: -1000,
        maximum: 1000,
        default: 0,
        description:
          'Platform: jobs of a higher priority leave the queue first (default 0); an execute call may override it.',
      }),
    ),
    concurrency: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_PIPELINE_CONCURRENCY,
        description:
          'Platform: at most this many jobs of the pipeline run at once, across all workers; more wait queued. ' +
          'Default: no limit.',
      }),
    ),
    isolation: Type.Optional(
      Type.Union([Type.Literal('process'), Type.Literal('none')], {
        default: 'process',
        description:
          'Platform: `none` runs the tasks that allow it (`notify`, `sql`) inside the worker, without a step ' +
          'process: faster, but with no memory limit or kill of their own (docs/platform.md). Default `process`.',
      }),
    ),
    steps: Type.Optional(Type.Array(StepSpec, { minItems: 1 })),
    flow: Type.Optional(
      Type.Array(ComponentSpec, { minItems: 2, description: 'Short form: a one-step pipeline.' }),
    ),
    ...StepOptions,
  },
  { additionalProperties: false },
);
export type PipelineSpec = Static<typeof PipelineSpec>;

// The pre-parse bound counts indentation too, so it is looser than the depth itself; a few times
// MAX_SPEC_DEPTH is still far below the ~800 levels where the YAML composer overflows the stack.
const YAML_DEPTH_BOUND = 4 * MAX_SPEC_DEPTH;

/** Parses YAML or JSON text (JSON is YAML); `file` names the document in errors. */
export function parseSpecText(text: string, file = 'spec'): unknown {
  const deep = yamlTooDeepAt(text, YAML_DEPTH_BOUND);
  if (deep >= 0) throw tooDeep(file, text, deep);
  try {
    return parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const message = (err as Error).message;
    if (err instanceof RangeError || message.startsWith('Maximum call stack size exceeded'))
      throw tooDeep(file, text, -1, err);
    throw new SluiceError(ErrorCode.SPEC, `${file}: not valid YAML or JSON: ${message}`, {
      cause: err,
    });
  }
}

/** `line L, column C` (1-based) of the character at `offset` in `text`. */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  return `line ${before.split('\n').length}, column ${offset - before.lastIndexOf('\n')}`;
}

function tooDeep(file: string, text: string, offset: number, cause?: unknown): SluiceError {
  const where = offset >= 0 ? ` at ${lineColumn(text, offset)}` : '';
  return new SluiceError(
    ErrorCode.SPEC,
    `${file}: nested too deeply${where}: a pipeline spec nests objects and lists at most ${MAX_SPEC_DEPTH} levels deep`,
    { cause },
  );
}

/**
 * Checks the document's shape and the DAG, and normalises the short form (`flow:` at the top)
 * to one step called `main`. Connector configs are checked later, against each connector.
 */
export function normalizeSpec(doc: unknown): PipelineSpec {
  // First: every step below walks the document recursively.
  const deep = nestingDepthIssue(doc, MAX_SPEC_DEPTH);
  if (deep) throw new ConfigError('invalid pipeline spec', [deep], ErrorCode.SPEC);
  const spec = structuredClone(doc) as PipelineSpec;
  const shape = validateAgainst(PipelineSpec, spec, '');
  if (shape.length > 0) throw new ConfigError('invalid pipeline spec', shape, ErrorCode.SPEC);
  const issues: Issue[] = [];
  if (spec.flow && spec.steps)
    issues.push({ path: 'flow', message: 'use either `flow` or `steps`, not both' });
  if (!spec.flow && !spec.steps)
    issues.push({ path: '(root)', message: 'a pipeline needs `steps` or a `flow`' });
  if (spec.flow) {
    const {
      flow,
      name,
      description,
      parameters,
      autostart,
      triggers,
      priority,
      concurrency,
      isolation,
      ...options
    } = spec;
    const main: StepSpec = { id: 'main', flow, ...options };
    for (const k of Object.keys(options)) delete (spec as Record<string, unknown>)[k];
    delete spec.flow;
    spec.steps = [main];
    void name;
    void description;
    void parameters;
    void autostart;
    void triggers;
    void priority;
    void concurrency;
    void isolation;
  }
  const steps = spec.steps ?? [];
  const shortForm = (doc as { flow?: unknown }).flow !== undefined;
  // concat, not push(...): a spread of 100,000 issues overflows the stack.
  const all = issues.concat(
    ...steps.map((step, i) => checkStep(step, shortForm ? '' : `steps[${i}]`)),
    checkGraph(steps, shortForm),
  );
  if (all.length > 0) throw new ConfigError('invalid pipeline spec', all, ErrorCode.SPEC);
  return spec;
}

function checkStep(step: StepSpec, path: string): Issue[] {
  const issues: Issue[] = [];
  if (!step.flow === !step.task) {
    issues.push({
      path,
      message: `step "${step.id}" needs exactly one of \`flow\` (components) or \`task\``,
    });
    return issues;
  }
  if (step.flow && step.with)
    issues.push({ path: `${path}.with`, message: 'a flow step has no `with`; configure each component' });
  if (step.task && step.partitions !== undefined)
    issues.push({
      path: join(path, 'partitions'),
      message: `step "${step.id}": only a flow step can be cut into partitions; a task runs whole`,
    });
  if (step.flow && step.credential)
    issues.push({
      path: `${path}.credential`,
      message: 'a flow step has no `credential`; name it on the component that uses it',
    });
  if (!step.flow) return issues;
  // Labels name checkpoints at the destination: two sinks sharing one would share a checkpoint.
  const labels = new Map<string, number>();
  step.flow.forEach((c, j) => {
    const at = `${join(path, 'flow')}[${j}]`;
    if (c.id !== undefined) {
      if (labels.has(c.id))
        issues.push({ path: `${at}.id`, message: `duplicate component id "${c.id}" in step "${step.id}"` });
      labels.set(c.id, j);
    }
    const roles = ['source', 'transform', 'sink'].filter((k) => k in c);
    if (roles.length !== 1) {
      const found = roles.length === 0 ? 'none' : roles.join(' and ');
      issues.push({
        path: at,
        message: `a component names exactly one of source, transform or sink (found ${found})`,
      });
    }
    const isLast = j === step.flow!.length - 1;
    if ('source' in c && j !== 0)
      issues.push({ path: at, message: 'a source must be the first component of a flow' });
    if (j === 0 && !('source' in c)) issues.push({ path: at, message: 'a flow starts with a `source`' });
    if ('transform' in c && step.flow!.slice(j + 1).some((n) => 'sink' in n) === false && !isLast) {
      issues.push({ path: at, message: 'transforms go between the source and the sinks' });
    }
    if ('sink' in c && step.flow!.slice(j + 1).some((n) => !('sink' in n))) {
      issues.push({ path: at, message: 'sinks come last in a flow' });
    }
  });
  if (!step.flow.some((c) => 'sink' in c))
    issues.push({ path: `${path}.flow`, message: 'a flow ends with at least one `sink`' });
  return issues;
}

/** Paths of a short-form spec name `flow[1]`, as the user wrote it, not `steps[0].flow[1]`. */
export function join(base: string, key: string): string {
  return base ? `${base}.${key}` : key;
}

function checkGraph(steps: StepSpec[], shortForm: boolean): Issue[] {
  const issues: Issue[] = [];
  // The short form's one step is the document itself: its options sit at the top level.
  const at = (i: number) => (shortForm ? '' : `steps[${i}].`);
  const ids = new Map<string, number>();
  steps.forEach((s, i) => {
    if (ids.has(s.id))
      issues.push({
        path: `steps[${i}].id`,
        message: `duplicate step id "${s.id}" (also steps[${ids.get(s.id)}])`,
      });
    else ids.set(s.id, i);
  });
  steps.forEach((s, i) =>
    (s.needs ?? []).forEach((n, k) => {
      if (!ids.has(n)) {
        const known = [...ids.keys()].join(', ');
        issues.push({ path: `${at(i)}needs[${k}]`, message: `unknown step "${n}" (steps: ${known})` });
      } else if (n === s.id)
        issues.push({ path: `${at(i)}needs[${k}]`, message: `step "${n}" needs itself` });
    }),
  );
  const cycle = findCycle(steps);
  if (cycle) issues.push({ path: 'steps', message: `cycle in needs: ${cycle.join(' → ')}` });
  return issues;
}

/** Depth-first search; the first cycle found, in `needs` order and closed: a needs b needs a → [a, b, a]. */
export function findCycle(steps: StepSpec[]): string[] | null {
  const needs = new Map<string, string[]>();
  for (const s of steps) if (!needs.has(s.id)) needs.set(s.id, s.needs ?? []);
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    if (state.get(id) === 'done') return null;
    if (state.get(id) === 'open') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'open');
    stack.push(id);
    for (const n of needs.get(id) ?? []) {
      if (n === id || !needs.has(n)) continue;
      const found = visit(n);
      if (found) return found;
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const s of steps) {
    const found = visit(s.id);
    if (found) return found;
  }
  return null;
}

/** Parses `30s`-style durations into milliseconds. */
export function toMs(d: number | string | undefined): number | undefined {
  if (d === undefined || typeof d === 'number') return d;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}
