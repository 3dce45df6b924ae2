import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, runPipeline } from '../src/index.ts';
import { countSource, jsonTableSink, keepEven, runWithEvents, testRegistry } from './helpers/connectors.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-run-'));
const table = (path: string) =>
  JSON.parse(readFileSync(path, 'utf8')) as { seq: number | null; rows: { n: number }[]; key?: string };

function flowSpec(
  dir: string,
  source: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  verify: 'count' | 'content' = 'count',
) {
  return {
    name: 'test',
    flow: [
      { source: 'count', with: source },
      { transform: 'keep-even' },
      { sink: 'json-table', with: { path: join(dir, 'out.json'), verify } },
    ],
    ...extra,
  };
}

describe('runPipeline: flows', () => {
  it('moves rows and reconciles read = written + filtered + quarantined', async () => {
    const dir = tmp();
    const report = await runPipeline(flowSpec(dir, { rows: 95, badEvery: 10 }), {
      registry: testRegistry(),
      stateDir: dir,
    });
    expect(report.status).toBe('success');
    const [step] = report.steps;
    expect(step).toMatchObject({ rowsRead: 95, rowsWritten: 38, rowsQuarantined: 9, rowsFiltered: 48 });
    expect(report.integrity.ok).toBe(true);
    expect(table(join(dir, 'out.json')).rows).toHaveLength(38);
    expect(step!.components.map((c) => c.id)).toEqual([
      'main.0:count',
      'main.1:keep-even',
      'main.2:json-table',
    ]);
    // No sink verifies content: no row is hashed, and the sink is held to its acknowledged count.
    expect(step!.components.map((c) => c.checksum)).toEqual([undefined, undefined, undefined]);
    expect(step!.components[2]!.verified).toEqual({ level: 'count', rowsHanded: 38, rowsFound: 38 });
    const q = readFileSync(report.quarantine.path!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(q).toHaveLength(9);
    expect(q[0]).toMatchObject({
      step: 'main',
      component: 'main.0:count',
      reason: 'row 10 is bad',
      line: 10,
      file: 'memory://count',
    });
  });

  it('fails the step when more rows are quarantined than allowed', async () => {
    const dir = tmp();
    const report = await runPipeline(flowSpec(dir, { rows: 100, badEvery: 10 }), {
      registry: testRegistry(),
      stateDir: dir,
      maxQuarantine: 3,
    });
    expect(report.status).toBe('failed');
    expect(report.error).toMatchObject({ code: 'QUARANTINE_LIMIT', step: 'main' });
    expect(report.error!.message).toMatch(/more than the limit of 3/);
  });

  it('resumes after a crash from the last checkpoint with no duplicate and no missing row', async () => {
    const dir = tmp();
    const out = join(dir, 'out.json');
    const opts = { registry: testRegistry(), stateDir: dir };
    const crashed = await runPipeline(
      flowSpec(dir, { rows: 200, failAfter: 137 }, { checkpointEvery: 20 }, 'content'),
      opts,
    );
    expect(crashed.status).toBe('failed');
    expect(crashed.error!.message).toMatch(/crash at row 138/);
    // The failed step reports how far it got: rows read, and rows committed at the last checkpoint.
    expect(crashed.steps[0]).toMatchObject({ rowsRead: 130, rowsWritten: 60, rowsFiltered: 65 });
    const partial = table(out);
    expect(partial.seq).toBe(6);
    expect(partial.rows).toHaveLength(60);

    const resumed = await runPipeline(flowSpec(dir, { rows: 200 }, { checkpointEvery: 20 }, 'content'), {
      ...opts,
      resume: true,
    });
    expect(resumed.status).toBe('success');
    expect(resumed.steps[0]!.resumedFromRow).toBe(120);
    const ns = table(out).rows.map((r) => r.n);
    expect(ns).toEqual(Array.from({ length: 100 }, (_, i) => 2 * (i + 1)));
    expect(resumed.steps[0]).toMatchObject({ rowsRead: 200, rowsWritten: 100, rowsFiltered: 100 });
    expect(resumed.integrity.ok).toBe(true);

    const clean = await runPipeline(flowSpec(tmp(), { rows: 200 }, {}, 'content'), {
      registry: testRegistry(),
      stateDir: tmp(),
    });
    // The source's checksum, kept in the checkpoints, covers the rows read before the crash too.
    expect(resumed.steps[0]!.components[0]!.checksum).toMatch(/^[0-9a-f]{16}$/);
    expect(resumed.steps[0]!.components[0]!.checksum).toBe(clean.steps[0]!.components[0]!.checksum);
  });

  it('after a crash past the final checkpoint, a resume closes the sinks and writes nothing again', async () => {
    const dir = tmp();
    const out = join(dir, 'out.json');
    const spec = (failOnClose: boolean) => ({
      name: 'test',
      flow: [
        { source: 'count', with: { rows: 30 } },
        { sink: 'json-table', with: { path: out, failOnClose } },
      ],
    });
    const opts = { registry: testRegistry(), stateDir: dir };
    const crashed = await runPipeline(spec(true), opts);
    expect(crashed.status).toBe('failed');
    expect(table(out).rows).toHaveLength(30);
    const resumed = await runPipeline(spec(false), { ...opts, resume: true });
    expect(resumed.status).toBe('success');
    expect(table(out).rows.map((r) => r.n)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(resumed.steps[0]).toMatchObject({ rowsRead: 30, rowsWritten: 30, resumedFromRow: 30 });
  });

  it('resumes a step that failed only its integrity check without writing its rows again', async () => {
    const dir = tmp();
    const out = join(dir, 'out.json');
    const spec = (underReport: number) => ({
      name: 'test',
      flow: [
        { source: 'count', with: { rows: 30 } },
        { sink: 'json-table', with: { path: out, underReport } },
      ],
    });
    const opts = { registry: testRegistry(), stateDir: dir };
    const failed = await runPipeline(spec(2), opts);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'INTEGRITY_FAILED' });
    expect(failed.steps[0]).toMatchObject({ rowsRead: 30, rowsWritten: 28 });
    const resumed = await runPipeline(spec(0), { ...opts, resume: true });
    expect(resumed.status).toBe('success');
    expect(table(out).rows.map((r) => r.n)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('counts as written only what a transactional sink committed before its commit failed', async () => {
    const dir = tmp();
    const spec = {
      name: 'test',
      checkpointEvery: 10,
      flow: [
        { source: 'count', with: { rows: 30 } },
        { sink: 'json-table', with: { path: join(dir, 'out.json'), failOnCommit: 2 } },
      ],
    };
    const failed = await runPipeline(spec, { registry: testRegistry(), stateDir: dir });
    expect(failed.error!.message).toMatch(/commit 2 failed/);
    expect(failed.steps[0]).toMatchObject({ status: 'failed', rowsRead: 20, rowsWritten: 10 });
    expect(table(join(dir, 'out.json')).rows).toHaveLength(10);
  });

  it('refuses to resume a checkpoint written for other components', async () => {
    const dir = tmp();
    const opts = { registry: testRegistry(), stateDir: dir };
    await runPipeline(flowSpec(dir, { rows: 100, failAfter: 50 }, { checkpointEvery: 10 }), opts);
    const spec = flowSpec(dir, { rows: 100 }, { checkpointEvery: 10 });
    spec.flow.splice(1, 1); // the transform is gone
    const changed = await runPipeline(spec, { ...opts, resume: true });
    expect(changed.status).toBe('failed');
    expect(changed.error).toMatchObject({ code: 'CHECKPOINT_INVALID' });
    expect(changed.error!.message).toMatch(
      /changed since its checkpoint was written.*Rerun without --resume/,
    );
  });

  it('retries retryable failures, resuming from the checkpoint', async () => {
    const dir = tmp();
    const spec = flowSpec(
      dir,
      { rows: 50, failAfter: 30, failWith: 'retryable' },
      { retry: { attempts: 2, backoff: { initial: '1ms', max: '5ms' } }, checkpointEvery: 10 },
    );
    const { report, events } = await runWithEvents(spec, dir);
    // The source fails on every attempt past row 30: two attempts, then failure, rows kept once.
    expect(report.steps[0]!.attempts).toBe(2);
    expect(report.status).toBe('failed');
    expect(events.some((e) => e.type === 'log' && /retrying/.test(e.message))).toBe(true);
    expect(table(join(dir, 'out.json')).rows.map((r) => r.n)).toEqual([
      2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30,
    ]);
  });

  it('marks a FatalError fatal in the report, so the platform does not retry the job either', async () => {
    const dir = tmp();
    const run = (failWith?: string) =>
      runPipeline(flowSpec(dir, { rows: 5, failAfter: 2, ...(failWith ? { failWith } : {}) }), {
        registry: testRegistry(),
        stateDir: dir,
      });
    const fatal = await run('fatal');
    expect(fatal.steps[0]!.error).toMatchObject({ code: 'INTERNAL', fatal: true });
    expect((await run()).steps[0]!.error!.fatal).toBeUndefined();
  });
});

describe('runPipeline: DAG', () => {
  const dag = (dir: string, failB = false) => ({
    name: 'dag',
    steps: [
      { id: 'a', task: 'wait', with: { ms: 30 } },
      { id: 'b', task: 'wait', with: failB ? { fail: 'b broke' } : { ms: 30 } },
      { id: 'c', needs: ['a', 'b'], task: 'wait', with: { ms: 1 } },
      { id: 'd', needs: ['c'], flow: flowSpec(dir, { rows: 4 }).flow },
    ],
  });

  it('runs independent steps in parallel and dependents after them', async () => {
    const dir = tmp();
    const order: string[] = [];
    const report = await runPipeline(dag(dir), {
      registry: testRegistry(),
      stateDir: dir,
      onEvent: (e) => {
        if (e.type === 'step') order.push(`${e.stepId}:${e.status}`);
      },
    });
    expect(report.status).toBe('success');
    expect(order.slice(0, 2).sort()).toEqual(['a:running', 'b:running']);
    expect(order.indexOf('c:running')).toBeGreaterThan(
      Math.max(order.indexOf('a:success'), order.indexOf('b:success')),
    );
    expect(report.steps.map((s) => s.output ?? s.rowsWritten)).toEqual([
      'waited 30 ms',
      'waited 30 ms',
      'waited 1 ms',
      2,
    ]);
  });

  it('skips the dependents of a failed step and reports why', async () => {
    const dir = tmp();
    const report = await runPipeline(dag(dir, true), { registry: testRegistry(), stateDir: dir });
    expect(report.status).toBe('failed');
    expect(report.steps.map((s) => s.status)).toEqual(['success', 'failed', 'skipped', 'skipped']);
    expect(report.steps[2]!.error!.message).toBe('skipped because step "b" failed');
    expect(report.error).toMatchObject({ step: 'b', message: 'b broke' });
  });

  it('times out a step', async () => {
    const dir = tmp();
    const spec = { name: 't', steps: [{ id: 'slow', task: 'wait', with: { ms: 5000 }, timeout: '50ms' }] };
    const t0 = Date.now();
    const report = await runPipeline(spec, { registry: testRegistry(), stateDir: dir });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(report.steps[0]).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
  });

  it('runs only the chosen steps, as if the steps they need had succeeded', async () => {
    const dir = tmp();
    const report = await runPipeline(dag(dir, true), {
      registry: testRegistry(),
      stateDir: dir,
      steps: ['c', 'd'],
      runKey: 'job-42',
    });
    expect(report.status).toBe('success');
    expect(report.steps.map((s) => `${s.id}:${s.status}`)).toEqual(['c:success', 'd:success']);
    // Sinks that keep checkpoints at the destination key them by run, step and component.
    expect(table(join(dir, 'out.json')).key).toBe('job-42/d/d.2:json-table');
    await expect(
      runPipeline(dag(dir), { registry: testRegistry(), stateDir: dir, steps: ['x'] }),
    ).rejects.toThrow(/no step "x" in this pipeline \(its steps: a, b, c, d\)/);
  });

  it('cancels with the run signal', async () => {
    const dir = tmp();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const report = await runPipeline(dag(dir), {
      registry: testRegistry(),
      stateDir: dir,
      signal: ac.signal,
    });
    expect(report.status).toBe('cancelled');
    expect(report.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
  });
});

describe('runPipeline: validation before anything runs', () => {
  const run = (spec: unknown, params?: Record<string, unknown>) =>
    runPipeline(spec, { registry: testRegistry(), stateDir: tmp(), ...(params ? { params } : {}) });

  it('rejects cycles, unknown and duplicate ids with their paths', async () => {
    const err = await run({
      name: 'x',
      steps: [
        { id: 'a', needs: ['c'], task: 'wait' },
        { id: 'b', needs: ['a', 'zz'], task: 'wait' },
        { id: 'c', needs: ['b'], task: 'wait' },
        { id: 'c', task: 'wait' },
      ],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues;
    expect(issues).toContainEqual({ path: 'steps[3].id', message: 'duplicate step id "c" (also steps[2])' });
    expect(issues).toContainEqual({
      path: 'steps[1].needs[1]',
      message: 'unknown step "zz" (steps: a, b, c)',
    });
    expect(issues.find((i) => i.message.startsWith('cycle'))!.message).toBe('cycle in needs: a → c → b → a');
  });

  it('reports short-form problems at the paths the author wrote, and refuses a zero timeout', async () => {
    const short = await run({
      name: 'x',
      needs: ['other'],
      flow: [
        { source: 'count', with: { rows: 1 } },
        { sink: 'json-table', with: { path: '/tmp/x' } },
      ],
    }).catch((e: unknown) => e);
    expect((short as ConfigError).issues).toContainEqual({
      path: 'needs[0]',
      message: 'unknown step "other" (steps: main)',
    });
    const zero = await run({ name: 'x', steps: [{ id: 'w', task: 'wait', timeout: '0s' }] }).catch(
      (e: unknown) => e,
    );
    expect((zero as ConfigError).issues[0]).toMatchObject({ path: 'steps[0].timeout' });
    expect((zero as ConfigError).issues[0]!.message).toMatch(/give a positive duration or omit timeout/);
  });

  it("names a task step's component after the step", async () => {
    const events: string[] = [];
    await runPipeline(
      { name: 'x', steps: [{ id: 'w', task: 'wait' }] },
      {
        registry: testRegistry(),
        stateDir: tmp(),
        onEvent: (e) => {
          if (e.type === 'log' && e.meta?.lifecycle !== true) events.push(e.componentId);
        },
      },
    );
    // The task's own lines carry its component id; the engine's lines about the step, the step's.
    expect(events).toEqual(['w:wait']);
  });

  it('names the step and JSON path of a bad connector config and suggests connector names', async () => {
    const err = (await run({
      name: 'x',
      steps: [
        {
          id: 'load',
          flow: [
            { source: 'count', with: { rows: 'ten' } },
            { transform: 'keep-evn' },
            { sink: 'json-table', with: {} },
          ],
        },
      ],
    }).catch((e: unknown) => e)) as ConfigError;
    expect(err.issues).toContainEqual({
      path: 'steps[0].flow[0].with.rows',
      message: 'step "load": must be integer',
    });
    expect(err.issues).toContainEqual({
      path: 'steps[0].flow[2].with',
      message: 'step "load": missing required property "path"',
    });
    expect(err.message).toMatch(/unknown transform "keep-evn".*Did you mean "keep-even"/);
  });

  it('says what is wrong with a component, at the path the author wrote', async () => {
    const err = (await run({
      name: 'x',
      flow: [{ source: 'count', sink: 'json-table' }, { sourc: 'count' }, { sink: 'json-table', with: {} }],
    }).catch((e: unknown) => e)) as ConfigError;
    expect(err.issues).toEqual([{ path: 'flow[1]', message: 'unknown property "sourc"' }]);
    const err2 = (await run({
      name: 'x',
      flow: [
        { source: 'count', sink: 'json-table', with: { rows: 1 } },
        { sink: 'json-table', with: { path: 'p' } },
      ],
    }).catch((e: unknown) => e)) as ConfigError;
    expect(err2.issues).toEqual([
      {
        path: 'flow[0]',
        message: 'a component names exactly one of source, transform or sink (found source and sink)',
      },
    ]);
  });

  it('rejects two components of a step with the same id', async () => {
    const err = (await run({
      name: 'x',
      flow: [
        { source: 'count', with: { rows: 1 } },
        { sink: 'json-table', id: 'out', with: { path: 'a' } },
        { sink: 'json-table', id: 'out', with: { path: 'b' } },
      ],
    }).catch((e: unknown) => e)) as ConfigError;
    expect(err.issues).toEqual([
      { path: 'flow[2].id', message: 'duplicate component id "out" in step "main"' },
    ]);
  });

  it('interpolates env and params and validates params against the schema', async () => {
    const dir = tmp();
    const spec = {
      name: 'p',
      parameters: { type: 'object', properties: { rows: { type: 'integer', default: 6 } } },
      flow: [
        { source: 'count', with: { rows: '${params.rows}' } },
        { sink: 'json-table', with: { path: '${env.OUT_DIR}/out.json' } },
      ],
    };
    const env = { OUT_DIR: dir };
    const ok = await runPipeline(spec, { registry: testRegistry(), stateDir: dir, env });
    expect(ok.steps[0]!.rowsWritten).toBe(6);
    const more = await runPipeline(spec, {
      registry: testRegistry(),
      stateDir: dir,
      env,
      params: { rows: 9 },
    });
    expect(more.steps[0]!.rowsWritten).toBe(9);
    await expect(
      runPipeline(spec, { registry: testRegistry(), stateDir: dir, env, params: { rows: 'x' } }),
    ).rejects.toThrow(/params\.rows: must be integer/);
    await expect(runPipeline(spec, { registry: testRegistry(), stateDir: dir, env: {} })).rejects.toThrow(
      /flow\[1\]\.with\.path: environment variable OUT_DIR is not set/,
    );
  });

  it('keeps connector definitions usable from code with the builder', async () => {
    const { pipeline } = await import('../src/index.ts');
    const dir = tmp();
    const { spec, registry } = pipeline('built')
      .flow('load', (f) =>
        f
          .from(countSource, { rows: 10, batch: 3 })
          .through(keepEven, {})
          .to(jsonTableSink, { path: join(dir, 'b.json') }),
      )
      .build();
    const report = await runPipeline(spec, { registry, stateDir: dir });
    expect(report.steps[0]).toMatchObject({ id: 'load', rowsRead: 10, rowsWritten: 5 });
  });
});

describe('CEL expressions', () => {
  it('treats fields named like Object.prototype members as plain fields', async () => {
    const { compileExpression } = await import('../src/index.ts');
    const e = compileExpression('constructor == null && toString == "x"', {}, 'where');
    expect(e.evaluate({ toString: 'x' })).toBe(true);
    expect(compileExpression('row["unit price"] * 2', {}, 'w').evaluate({ 'unit price': 1.5 })).toBe(3);
    expect(() => compileExpression('amount >', {}, 'steps[0].flow[1].with.where')).toThrow(
      /steps\[0\]\.flow\[1\]\.with\.where: invalid CEL expression "amount >"/,
    );
  });
});
