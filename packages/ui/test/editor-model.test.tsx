import { describe, expect, it } from 'vitest';
import type { JsonSchema, PipelineSpec } from '../src/api/types.ts';
import { checkSpec } from '../src/editor/checks.ts';
import { cycleSteps, groupIssues, locate, parsePath } from '../src/editor/issues.ts';
import {
  addComponent,
  addNeed,
  cycleIf,
  flowOrderProblems,
  moveComponent,
  removeComponent,
  removeNeed,
  removeStep,
  renameStep,
  setStepKind,
  toStepsForm,
  withConnector,
} from '../src/editor/spec-model.ts';
import { parseSpecYaml, specToYaml } from '../src/editor/yaml-text.ts';

// The example of docs/pipeline-spec.md, as the API stores it.
const spec: PipelineSpec = {
  name: 'orders-daily',
  description: 'Daily orders load',
  parameters: { type: 'object', properties: { minAmount: { type: 'number', default: 0 } } },
  steps: [
    {
      id: 'load-orders',
      flow: [
        { source: 'csv', with: { path: 'data/orders.csv', schema: { id: 'integer', amount: 'number' } } },
        { transform: 'filter', with: { where: 'active == true && amount >= params.minAmount' } },
        { transform: 'map', with: { set: { total: 'amount * quantity' }, drop: ['notes'] } },
        {
          sink: 'postgres',
          with: { url: '${env.DATABASE_URL}', table: 'orders', mode: 'upsert', key: ['id'] },
        },
      ],
      retry: { attempts: 3 },
      timeout: '10m',
    },
    {
      id: 'report',
      needs: ['load-orders'],
      task: 'shell',
      with: { command: ['wc', '-l', 'data/orders.csv'] },
    },
  ],
};

describe('spec ↔ YAML', () => {
  it('round-trips the stored document unchanged', () => {
    const text = specToYaml(spec);
    const back = parseSpecYaml(text);
    expect(back).toEqual({ ok: true, spec });
    expect(text).toContain('name: orders-daily');
    expect(text).toContain('needs:\n      - load-orders');
    // ${…} interpolation is text to YAML: it must come back as written.
    expect(text).toContain('${env.DATABASE_URL}');
  });

  it('writes keys in the documented order, whatever order the server kept', () => {
    const jsonbOrder = {
      name: 'p',
      steps: [
        { with: { command: ['true'] }, task: 'shell', id: 'a' },
        { flow: [{ with: { path: 'a' }, source: 'csv' }, { sink: 'json' }], id: 'b' },
      ],
    } as PipelineSpec;
    const text = specToYaml(jsonbOrder);
    expect(text.indexOf('id: a')).toBeLessThan(text.indexOf('task: shell'));
    expect(text.indexOf('task: shell')).toBeLessThan(text.indexOf('command'));
    expect(text.indexOf('source: csv')).toBeLessThan(text.indexOf('path: a'));
    expect(parseSpecYaml(text)).toEqual({ ok: true, spec: jsonbOrder });
  });

  it('writes a shared object in full rather than as an anchor and alias', () => {
    const shared = { path: 'a.csv' };
    const twice: PipelineSpec = {
      name: 'p',
      steps: [
        {
          id: 'a',
          flow: [
            { source: 'csv', with: shared },
            { sink: 'csv', with: shared },
          ],
        },
      ],
    };
    const text = specToYaml(twice);
    expect(text).not.toMatch(/[&*]a\d/);
    expect(parseSpecYaml(text)).toEqual({ ok: true, spec: twice });
  });

  it('keeps what the form does not draw (backoff, maxQuarantine)', () => {
    const text = `name: p\nsteps:\n  - id: a\n    task: shell\n    retry: { attempts: 2, backoff: { initial: 1s } }\n    maxQuarantine: 5\n`;
    const r = parseSpecYaml(text);
    expect(r.ok && r.spec.steps?.[0]).toMatchObject({
      retry: { attempts: 2, backoff: { initial: '1s' } },
      maxQuarantine: 5,
    });
    expect(parseSpecYaml(specToYaml(r.ok ? r.spec : spec))).toEqual(r);
  });

  it('reports a parse error with its line and column', () => {
    const r = parseSpecYaml('name: p\nsteps:\n  - id: a\n   task: shell\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.line).toBe(4);
    expect(r.column).toBeGreaterThan(0);
    expect(r.message).not.toMatch(/at line/);
  });

  it('refuses a document that is not a mapping', () => {
    expect(parseSpecYaml('- a\n- b\n')).toMatchObject({ ok: false, line: 1 });
    expect(parseSpecYaml('')).toMatchObject({ ok: false });
  });

  it('reads the short form as one step called main', () => {
    const r = parseSpecYaml('name: p\nflow:\n  - source: csv\n  - sink: json\ntimeout: 5m\n');
    expect(r.ok && toStepsForm(r.spec)).toEqual({
      name: 'p',
      steps: [{ id: 'main', flow: [{ source: 'csv' }, { sink: 'json' }], timeout: '5m' }],
    });
  });
});

describe('where a problem is shown', () => {
  it('parses JSON paths', () => {
    expect(parsePath('spec.steps[0].flow[1].with.where')).toEqual([
      'spec',
      'steps',
      0,
      'flow',
      1,
      'with',
      'where',
    ]);
    expect(parsePath('steps[2].with["unit price"]')).toEqual(['steps', 2, 'with', 'unit price']);
    expect(parsePath('(root)')).toEqual(['(root)']);
  });

  it("puts a create's 400 detail on the step, component and config field it names", () => {
    expect(
      locate({ path: 'spec.steps[0].flow[1].with.where', message: 'undeclared reference to "amout"' }),
    ).toEqual({
      step: 0,
      component: 1,
      field: 'where',
      rest: 'with.where',
      message: 'undeclared reference to "amout"',
    });
    // /validate answers without the `spec.` prefix.
    expect(locate({ path: 'steps[1].with.command', message: 'step "report": must be array' })).toMatchObject({
      step: 1,
      component: null,
      field: 'command',
      message: 'must be array',
    });
  });

  it('shows a missing property under the field it names, without the step prefix', () => {
    expect(
      locate({
        path: 'spec.steps[0].flow[3].with',
        message: 'step "load": missing required property "table"',
      }),
    ).toMatchObject({
      step: 0,
      component: 3,
      field: 'table',
      message: 'is required',
    });
  });

  it("shows an array item's problem on the array, naming the item", () => {
    expect(
      locate({ path: 'steps[0].flow[3].with.key[1]', message: 'must NOT have fewer than 1 characters' }),
    ).toMatchObject({
      field: 'key',
      message: 'item 2: must NOT have fewer than 1 characters',
    });
  });

  it("keeps step options and a component's own problems out of the config", () => {
    expect(locate({ path: 'steps[1].needs[0]', message: 'unknown step "x"' })).toMatchObject({
      step: 1,
      component: null,
      field: null,
      rest: 'needs[0]',
    });
    expect(locate({ path: 'spec.steps[0].flow[2]', message: 'sinks come last in a flow' })).toMatchObject({
      step: 0,
      component: 2,
      field: null,
    });
  });

  it('leaves document-wide problems at the top', () => {
    for (const path of ['name', 'spec.name', '(root)', 'steps', 'parameters.properties'])
      expect(locate({ path, message: 'x' }).step).toBe(null);
  });

  it('puts a short-form path on its one step', () => {
    expect(locate({ path: 'flow[1].with.where', message: 'x' }, true)).toMatchObject({
      step: 0,
      component: 1,
      field: 'where',
    });
    expect(locate({ path: 'name', message: 'x' }, true).step).toBe(null);
  });

  it('groups a 400 answer by step', () => {
    const g = groupIssues([
      { path: 'spec.steps[0].flow[1].with.where', message: 'bad expression' },
      { path: 'spec.steps[0].flow[1]', message: 'unknown transform "filtr"; did you mean filter?' },
      { path: 'spec.steps[0].timeout', message: 'must match pattern' },
      { path: 'spec.steps[1].with.command', message: 'must be array' },
      { path: 'spec.steps[1].credential', message: 'credential "pg" does not exist' },
      { path: 'spec.name', message: 'name taken' },
    ]);
    expect(g.global).toEqual([{ path: 'spec.name', message: 'name taken' }]);
    expect(g.steps.get(0)?.count).toBe(3);
    expect(g.steps.get(0)?.components.get(1)?.config).toEqual([{ path: 'where', message: 'bad expression' }]);
    expect(
      g.steps
        .get(0)
        ?.components.get(1)
        ?.own.map((l) => l.message),
    ).toEqual(['unknown transform "filtr"; did you mean filter?']);
    expect(g.steps.get(0)?.own.map((l) => l.rest)).toEqual(['timeout']);
    expect(g.steps.get(1)?.config).toEqual([{ path: 'command', message: 'must be array' }]);
    expect(g.steps.get(1)?.own.map((l) => l.rest)).toEqual(['credential']);
  });

  it('names the steps of a cycle', () => {
    expect(cycleSteps('cycle in needs: a → b → a')).toEqual(['a', 'b']);
    expect(cycleSteps('something else')).toEqual([]);
  });
});

describe('editing the spec', () => {
  it('draws and deletes needs edges', () => {
    const s = addNeed(spec, 'report', 'load-orders');
    expect(s.steps![0]!.needs).toEqual(['report']);
    expect(addNeed(s, 'report', 'load-orders')).toEqual(s);
    expect(addNeed(spec, 'report', 'report')).toEqual(spec);
    expect(removeNeed(spec, 'load-orders', 'report').steps![1]).not.toHaveProperty('needs');
  });

  it('refuses an edge that would close a cycle, saying which', () => {
    const chain: PipelineSpec = {
      name: 'p',
      steps: [
        { id: 'a', task: 'shell' },
        { id: 'b', task: 'shell', needs: ['a'] },
        { id: 'c', task: 'shell', needs: ['b'] },
      ],
    };
    expect(cycleIf(chain, 'c', 'a')).toBe('"a" cannot need "c": that would make a cycle, a → c → b → a');
    expect(cycleIf(chain, 'a', 'a')).toMatch(/itself/);
    expect(cycleIf(chain, 'a', 'c')).toBe(null);
  });

  it('renames a step and the needs that name it', () => {
    const s = renameStep(spec, 0, 'load');
    expect(s.steps!.map((x) => [x.id, x.needs])).toEqual([
      ['load', undefined],
      ['report', ['load']],
    ]);
  });

  it('removes a step and the needs that named it', () => {
    const s = removeStep(spec, 0);
    expect(s.steps).toEqual([
      { id: 'report', task: 'shell', with: { command: ['wc', '-l', 'data/orders.csv'] } },
    ]);
  });

  it('adds transforms before the sinks and sinks last; moves and removes components', () => {
    let s = addComponent(spec, 0, 'transform');
    expect(s.steps![0]!.flow!.map((c) => Object.keys(c)[0])).toEqual([
      'source',
      'transform',
      'transform',
      'transform',
      'sink',
    ]);
    s = addComponent(s, 0, 'sink');
    expect(s.steps![0]!.flow!.at(-1)).toEqual({ sink: '', with: {} });
    s = moveComponent(spec, 0, 1, 1);
    expect(s.steps![0]!.flow!.map((c) => c.transform ?? c.source ?? c.sink)).toEqual([
      'csv',
      'map',
      'filter',
      'postgres',
    ]);
    expect(moveComponent(spec, 0, 0, -1)).toEqual(spec);
    expect(removeComponent(spec, 0, 1).steps![0]!.flow).toHaveLength(3);
  });

  it('starts a new connector with an empty config, keeps the label', () => {
    expect(withConnector({ source: 'csv', with: { path: 'a' }, id: 'in' }, 'source', 'ndjson')).toEqual({
      source: 'ndjson',
      id: 'in',
    });
    expect(withConnector({ source: 'csv', with: { path: 'a' } }, 'source', 'csv')).toEqual({
      source: 'csv',
      with: { path: 'a' },
    });
  });

  it('turns a flow into a task keeping id, needs, retry and timeout', () => {
    const s = setStepKind(spec, 0, 'task');
    expect(s.steps![0]).toEqual({
      id: 'load-orders',
      retry: { attempts: 3 },
      timeout: '10m',
      task: 'shell',
      with: {},
    });
  });

  it('knows the order rules of a flow', () => {
    expect(flowOrderProblems(spec.steps![0]!.flow!)).toEqual([]);
    expect(
      flowOrderProblems([{ transform: 'map' }, { sink: 'csv' }, { transform: 'filter' }]).map(
        (p) => p.message,
      ),
    ).toEqual(['a flow starts with a source', 'sinks come last in a flow']);
    expect(flowOrderProblems([{ source: 'csv' }])).toEqual([
      { index: null, message: 'a flow ends with at least one sink' },
    ]);
  });
});

describe('checks before asking the server', () => {
  const schemas: Record<string, JsonSchema> = {
    'transform:filter': {
      type: 'object',
      required: ['where'],
      properties: { where: { type: 'string', minLength: 1 } },
    },
    'sink:postgres': {
      type: 'object',
      required: ['url', 'table', 'schema'],
      properties: {
        url: { type: 'string' },
        table: { type: 'string' },
        schema: { type: 'string', default: 'public' },
      },
    },
  };
  const schemaOf = (kind: string, name: string) => schemas[`${kind}:${name}`];

  it('finds nothing in the documented example', () => {
    expect(checkSpec(spec, schemaOf)).toEqual([]);
  });

  it('reports at the paths the server uses', () => {
    const bad: PipelineSpec = {
      name: 'bad name',
      steps: [
        {
          id: 'a',
          needs: ['b', 'zz'],
          flow: [{ transform: 'filter', with: {} }, { sink: 'postgres', with: { url: 'u' } }, { source: '' }],
        },
        { id: 'b', needs: ['a'], task: '', timeout: 'soon' },
        { id: 'b', task: 'shell', retry: { attempts: 0 } },
      ],
    };
    const issues = checkSpec(bad, schemaOf);
    const at = (path: string) => issues.filter((i) => i.path === path).map((i) => i.message);
    expect(at('name')).toHaveLength(1);
    expect(at('steps[0].needs[1]')).toEqual(['unknown step "zz"']);
    expect(at('steps[0].flow[0]')).toEqual(['a flow starts with a source']);
    expect(at('steps[0].flow[0].with.where')).toEqual(['is required']);
    expect(at('steps[0].flow[1].with.table')).toEqual(['is required']);
    expect(at('steps[0].flow[1].with.schema')).toEqual([]);
    expect(at('steps[0].flow[2]')).toEqual([
      'a source must be the first component',
      'choose a source connector',
    ]);
    expect(at('steps[1].task')).toEqual(['choose a task connector']);
    expect(at('steps[1].timeout')).toHaveLength(1);
    expect(at('steps[2].id')).toEqual(['duplicate step id "b" (also step 2)']);
    expect(at('steps[2].retry.attempts')).toEqual(['a whole number ≥ 1']);
    // …so they land on the steps they concern, like the server's.
    const g = groupIssues(issues);
    expect(g.steps.get(0)?.components.get(0)?.config).toEqual([{ path: 'where', message: 'is required' }]);
    expect(g.global.map((i) => i.path)).toEqual(['name']);
  });
});
