import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, type RunEvent, type RunReport, replayQuarantine, runPipeline } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinConnectors } from '../src/index.ts';

// A transform that holds its input (aggregate here; sql too) through the engine: checkpoints,
// reconciliation, resume and replay.

const registry = new Registry().register(...builtinConnectors);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-holding-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
let n = 0;

const csv = [
  'id,country,amount',
  '1,PT,10',
  '2,FR,5',
  '3,PT,x1',
  '4,DE,1',
  '5,FR,2',
  '6,PT,3',
  '7,ES,4',
].join('\n');

const spec = (input: string, out: string, maxGroups = 100) => ({
  name: 'totals',
  steps: [
    {
      id: 'load',
      checkpointEvery: 2,
      flow: [
        { source: 'csv', with: { path: input, batchSize: 2 } },
        { transform: 'cast', with: { fields: { amount: 'integer' } } },
        {
          transform: 'aggregate',
          with: {
            groupBy: ['country'],
            fields: { orders: { op: 'count' }, total: { op: 'sum', field: 'amount' } },
            maxGroups,
          },
        },
        { transform: 'filter', with: { where: 'row.country != "DE"' } },
        { sink: 'ndjson', with: { path: out } },
      ],
    },
  ],
});

const setup = async () => {
  const sub = join(dir, String(n++));
  const input = join(sub, 'in.csv');
  const out = join(sub, 'out.ndjson');
  const stateDir = join(sub, '.sluice');
  await rm(sub, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(sub, { recursive: true }));
  await writeFile(input, csv);
  return { input, out, stateDir };
};

const read = async (path: string) =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

const step = (r: RunReport) => r.steps.find((s) => s.id === 'load')!;

describe('a transform that holds its input', () => {
  it('hands its rows on once the input ended, checkpoints only then, and reconciles around itself', async () => {
    const { input, out, stateDir } = await setup();
    const logs: string[] = [];
    const onEvent = (e: RunEvent) => {
      if (e.type === 'log') logs.push(e.message);
    };
    const report = await runPipeline(spec(input, out), {
      registry,
      stateDir,
      baseDir: dir,
      onEvent,
      parallel: false,
    });
    expect(report.status).toBe('success');
    expect(await read(out)).toEqual([
      { country: 'PT', orders: 2, total: 13 },
      { country: 'FR', orders: 2, total: 7 },
      { country: 'ES', orders: 1, total: 4 },
    ]);
    const s = step(report);
    expect(s.integrity).toEqual({ ok: true, problems: [] });
    const agg = s.components.find((c) => c.connector === 'aggregate')!;
    expect(agg).toMatchObject({ rowsIn: 6, rowsOut: 4, rowsFiltered: 0, reshaped: true });
    expect(s.components.find((c) => c.connector === 'filter')).toMatchObject({
      rowsIn: 4,
      rowsOut: 3,
      rowsFiltered: 1,
    });
    // Seven rows at checkpointEvery 2 would checkpoint three times; holding them, only the final one.
    expect(logs.filter((l) => l.startsWith('checkpoint '))).toEqual([
      expect.stringMatching(/^checkpoint 1 \(final\) committed after row 7/),
    ]);
    expect(existsSync(join(stateDir, 'steps', 'load', 'tmp'))).toBe(false);
  });

  it('reruns the flow from its start on resume after a failure, counting each row once', async () => {
    const { input, out, stateDir } = await setup();
    const failed = await runPipeline(spec(input, out, 2), {
      registry,
      stateDir,
      baseDir: dir,
      parallel: false,
    });
    expect(failed.status).toBe('failed');
    expect(step(failed).error?.message).toMatch(/more than maxGroups \(2\)/);
    const resumed = await runPipeline(spec(input, out), {
      registry,
      stateDir,
      baseDir: dir,
      resume: true,
      parallel: false,
    });
    expect(resumed.status).toBe('success');
    expect(step(resumed).integrity?.ok).toBe(true);
    expect(step(resumed).components[0]).toMatchObject({ rowsIn: 7 });
    expect((await read(out)).map((r) => r.total)).toEqual([13, 7, 4]);
  });

  it('does not replay quarantined rows through it: the step must run again', async () => {
    const { input, out, stateDir } = await setup();
    await runPipeline(spec(input, out), { registry, stateDir, baseDir: dir, parallel: false });
    const fixed = spec(input, out);
    fixed.steps[0]!.flow[1] = { transform: 'cast', with: { fields: { amount: 'string' } } };
    const replay = await replayQuarantine(fixed, { registry, stateDir, baseDir: dir });
    expect(step(replay).replay).toMatchObject({ taken: 1, written: 0, notReplayable: 1 });
    const q = await readFile(join(stateDir, 'steps', 'load', 'quarantine.ndjson'), 'utf8');
    expect(q).toMatch(
      /not replayed: it would pass through load\.2:aggregate, which works on the whole input/,
    );
  });
});
