import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRegistry } from '../test/helpers/connectors.ts';
import { ErrorCode } from './errors.ts';
import { bindPlan, type ResolvedPlan, resolvePlan } from './resolved-plan.ts';
import { runPipeline, runPlanned } from './run.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-plan-'));
/** As a plan travels: through JSON (a jsonb column, an IPC message). */
const travelled = (p: ResolvedPlan): ResolvedPlan => JSON.parse(JSON.stringify(p));
/** A step counting `n` rows into a JSON table whose path its credential gives. */
const loadStep = (id: string, n: number, credential: string) => ({
  id,
  flow: [
    { source: 'count', with: { rows: n } },
    { sink: 'json-table', credential },
  ],
});
const rows = (path: string) => (JSON.parse(readFileSync(path, 'utf8')) as { rows: unknown[] }).rows;

describe('a plan made once', () => {
  it('is plain data with parameters, environment and defaults filled in, and no credential', () => {
    const plan = resolvePlan(
      {
        name: 'p',
        parameters: { properties: { n: { type: 'integer', default: 5 } } },
        steps: [
          {
            id: 'load',
            flow: [
              { source: 'count', with: { rows: '${params.n}' } },
              { sink: 'json-table', credential: 'dest', with: { verify: 'count' } },
            ],
          },
          { id: 'after', needs: ['load'], task: 'wait', with: { fail: '${env.WHY}' } },
        ],
      },
      { registry: testRegistry(), env: { WHY: 'told to', UNUSED: 'x' } },
    );
    expect(travelled(plan)).toEqual(plan);
    expect(plan).toMatchObject({ format: 1, name: 'p', params: { n: 5 } });
    const [load, after] = plan.steps;
    expect(load).toMatchObject({
      kind: 'flow',
      // The schema's default (`batch`) is in the plan: a run reads it from there.
      source: { kind: 'source', connector: 'count', version: '1.0.0', config: { rows: 5, batch: 10 } },
      sinks: [
        {
          connector: 'json-table',
          credential: 'dest',
          config: { verify: 'count' },
          path: 'steps[0].flow[1]',
        },
      ],
    });
    expect(after).toMatchObject({
      kind: 'task',
      needs: ['load'],
      task: { config: { fail: 'told to', ms: 0 } },
    });
  });

  it('runs after travelling, with its credentials merged in only where it runs', async () => {
    const dir = tmp();
    const out = join(dir, 'secret-destination.json');
    const spec = {
      name: 'p',
      steps: [
        {
          id: 'load',
          flow: [
            { source: 'count', with: { rows: 6 } },
            { transform: 'keep-even' },
            { sink: 'json-table', credential: 'dest' },
          ],
        },
      ],
    };
    const plan = travelled(resolvePlan(spec, { registry: testRegistry() }));
    const before = JSON.stringify(plan);
    const report = await runPlanned(plan, {
      registry: testRegistry(),
      stateDir: join(dir, 'state'),
      credentials: { dest: { path: out } },
    });
    expect(report.status).toBe('success');
    expect(report.steps[0]).toMatchObject({ rowsRead: 6, rowsWritten: 3, rowsFiltered: 3 });
    expect(rows(out)).toEqual([
      { n: 2, even: true },
      { n: 4, even: true },
      { n: 6, even: true },
    ]);
    // Binding fills defaults and secrets into copies: the plan itself is as it was.
    expect(JSON.stringify(plan)).toBe(before);
    expect(before).not.toContain(out);

    // The same spec through runPipeline (plan, then run) gives the same rows.
    const again = join(dir, 'again.json');
    const direct = await runPipeline(spec, {
      registry: testRegistry(),
      stateDir: join(dir, 'state2'),
      credentials: { dest: { path: again } },
    });
    expect(direct.steps[0]).toMatchObject({ status: 'success', rowsWritten: 3 });
    expect(rows(again)).toEqual(rows(out));
  });

  it('binds only the steps it runs, so a step needs only its own credentials', async () => {
    const dir = tmp();
    const plan = resolvePlan(
      { name: 'p', steps: [loadStep('a', 2, 'for-a'), loadStep('b', 3, 'for-b')] },
      { registry: testRegistry() },
    );
    const report = await runPlanned(plan, {
      registry: testRegistry(),
      stateDir: join(dir, 'state'),
      steps: ['b'],
      credentials: { 'for-b': { path: join(dir, 'b.json') } },
    });
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([['b', 'success']]);
    expect(rows(join(dir, 'b.json'))).toHaveLength(3);
    expect(existsSync(join(dir, 'a.json'))).toBe(false);
  });

  it('refuses, with the spec’s paths, what it cannot bind', () => {
    const registry = testRegistry();
    const plan = resolvePlan({ name: 'p', steps: [loadStep('a', 2, 'dest')] }, { registry });
    const issues = (p: ResolvedPlan, credentials?: Record<string, Record<string, unknown>>) => {
      try {
        bindPlan(p, { registry, ...(credentials ? { credentials } : {}) });
        return [];
      } catch (err) {
        return (err as { issues: { path: string; message: string }[] }).issues;
      }
    };
    // Without credentials, only scheduling is asked of it: it binds.
    expect(issues(plan)).toEqual([]);
    expect(issues(plan, {})).toEqual([
      {
        path: 'steps[0].flow[1].credential',
        message: expect.stringContaining('credential "dest" is not available'),
      },
    ]);
    expect(issues(plan, { dest: { path: 'x.json', verify: 'sometimes' } })).toEqual([
      { path: 'steps[0].flow[1].with.verify', message: 'step "a": must be one of: count, content' },
    ]);

    const renamed = travelled(plan);
    if (renamed.steps[0]!.kind === 'flow') renamed.steps[0]!.source.connector = 'cuont';
    expect(issues(renamed)).toEqual([
      { path: 'steps[0].flow[0].source', message: expect.stringContaining('unknown source "cuont"') },
    ]);

    // A config checked against another version of its connector is checked again here.
    const older = travelled(plan);
    if (older.steps[0]!.kind === 'flow') {
      older.steps[0]!.source.version = '0.9.0';
      older.steps[0]!.source.config = { rows: -1 };
    }
    expect(issues(older)).toEqual([expect.objectContaining({ path: 'steps[0].flow[0].with.rows' })]);

    const future = { ...travelled(plan), format: 2 } as unknown as ResolvedPlan;
    expect(() => bindPlan(future, { registry })).toThrow(
      expect.objectContaining({ code: ErrorCode.SPEC, message: expect.stringContaining('format 2') }),
    );
  });
});
