import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, type RunEvent, type RunReport, runPipeline } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinConnectors } from '../src/index.ts';

// The sql transform through the engine: the report around it, checkpoints, resume, spec checks.

const registry = new Registry().register(...builtinConnectors);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-sql-flow-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
let n = 0;

const orders = ['id,country,amount', '1,PT,10', '2,FR,5', '3,PT,x1', '4,DE,1', '5,FR,2', '6,PT,3', '7,ES,4'];
const countries = ['code,name', 'PT,Portugal', 'FR,France', 'DE,Germany', 'ES,Spain'];

const spec = (query: string) => ({
  name: 'sql-totals',
  steps: [
    {
      id: 'load',
      checkpointEvery: 2,
      flow: [
        { source: 'csv', with: { path: 'in.csv', batchSize: 2, schema: { amount: 'integer' } } },
        { transform: 'sql', with: { query, inputs: { countries: { path: 'countries.csv' } } } },
        { transform: 'filter', with: { where: 'row.name != "Germany"' } },
        { sink: 'ndjson', with: { path: 'out.ndjson' } },
      ],
    },
  ],
});

const TOTALS = `SELECT c.name, count(*) AS orders, sum(o.amount) AS total
  FROM input o JOIN countries c ON c.code = o.country GROUP BY ALL ORDER BY total DESC`;

const setup = async () => {
  const sub = join(dir, String(n++));
  await mkdir(sub, { recursive: true });
  await writeFile(join(sub, 'in.csv'), `${orders.join('\n')}\n`);
  await writeFile(join(sub, 'countries.csv'), `${countries.join('\n')}\n`);
  return { sub, stateDir: join(sub, '.sluice'), out: join(sub, 'out.ndjson') };
};

const read = async (path: string) =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

const step = (r: RunReport) => r.steps.find((s) => s.id === 'load')!;

describe('sql transform in a flow', () => {
  it('reports rows into and out of the SQL stage, an aggregation balancing on each side', async () => {
    const { sub, stateDir, out } = await setup();
    const logs: string[] = [];
    const onEvent = (e: RunEvent) => {
      if (e.type === 'log') logs.push(e.message);
    };
    const report = await runPipeline(spec(TOTALS), {
      registry,
      stateDir,
      baseDir: sub,
      onEvent,
      parallel: false,
    });
    expect(report.status).toBe('success');
    expect(await read(out)).toEqual([
      { name: 'Portugal', orders: 2, total: 13 },
      { name: 'France', orders: 2, total: 7 },
      { name: 'Spain', orders: 1, total: 4 },
    ]);
    const s = step(report);
    expect(s.integrity).toEqual({ ok: true, problems: [] });
    expect(s.rowsQuarantined).toBe(1);
    expect(s.components.find((c) => c.connector === 'sql')).toMatchObject({
      rowsIn: 6,
      rowsOut: 4,
      rowsFiltered: 0,
      reshaped: true,
    });
    expect(logs.filter((l) => l.startsWith('checkpoint '))).toEqual([
      expect.stringMatching(/^checkpoint 1 \(final\) committed after row 7/),
    ]);
    // DuckDB's spill directory went with the flow.
    expect(existsSync(join(stateDir, 'steps', 'load', 'tmp'))).toBe(false);
  });

  it('reruns the flow from its start on resume after the query failed, counting each row once', async () => {
    const { sub, stateDir, out } = await setup();
    // The country codes are no integers: the query fails while it runs, on the rows' values.
    const failing =
      'SELECT c.name, o.country::INTEGER AS n FROM input o JOIN countries c ON c.code = o.country';
    const failed = await runPipeline(spec(failing), {
      registry,
      stateDir,
      baseDir: sub,
      parallel: false,
    });
    expect(failed.status).toBe('failed');
    expect(step(failed).error?.message).toMatch(
      /with\.query: DuckDB failed running the query: Conversion Error/,
    );
    const resumed = await runPipeline(spec(TOTALS), {
      registry,
      stateDir,
      baseDir: sub,
      resume: true,
      parallel: false,
    });
    expect(resumed.status).toBe('success');
    expect(step(resumed).integrity?.ok).toBe(true);
    expect(step(resumed).components[0]).toMatchObject({ rowsIn: 7 });
    expect((await read(out)).map((r) => r.total)).toEqual([13, 7, 4]);
  });

  it('refuses a query DuckDB cannot parse before the run starts, at with.query', async () => {
    const { sub, stateDir } = await setup();
    const err = await runPipeline(spec('SELECT country FORM input'), {
      registry,
      stateDir,
      baseDir: sub,
      parallel: false,
    }).catch((e) => e);
    expect(err.issues).toEqual([
      {
        path: 'steps[0].flow[1].with.query',
        message: expect.stringMatching(
          /^step "load": Parser Error: syntax error at or near "input"[\s\S]*LINE 1: SELECT country FORM input/,
        ),
      },
    ]);
  });
});
