import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { defineSink, defineSource } from './connector.ts';
import {
  balanceDatasets,
  type DatasetStep,
  datasetArea,
  datasetHandoffs,
  datasetIssues,
  resolveDataset,
} from './dataset.ts';
import type { StepReport } from './report.ts';

const reader = defineSource({
  name: 'reads',
  version: '1.0.0',
  summary: 'test',
  config: Type.Object({ names: Type.Array(Type.String()) }),
  datasets: (c) => c.names.map((name, i) => ({ name, access: 'read' as const, path: `names[${i}]` })),
  read: async function* () {},
});
const writer = defineSink({
  name: 'writes',
  version: '1.0.0',
  summary: 'test',
  config: Type.Object({ name: Type.String() }),
  datasets: (c) => [{ name: c.name, access: 'write', path: 'name' }],
  open: () => Promise.reject(new Error('not opened in this test')),
});

const step = (id: string, needs: string[], reads: string[], writes?: string): DatasetStep => ({
  id,
  needs,
  components: [
    { def: reader, config: { names: reads }, path: `${id}.flow[0]`, id: `${id}.0:reads` },
    ...(writes
      ? [{ def: writer, config: { name: writes }, path: `${id}.flow[1]`, id: `${id}.1:writes` }]
      : []),
  ],
});

describe('datasetIssues', () => {
  it('accepts a read whose writer is needed through another step', () => {
    expect(datasetIssues([step('a', [], [], 'x'), step('b', ['a'], []), step('c', ['b'], ['x'])])).toEqual(
      [],
    );
  });

  it('refuses a read of a dataset its own step writes', () => {
    expect(datasetIssues([step('a', [], ['x'], 'x')])).toEqual([
      {
        path: 'a.flow[0].with.names[0]',
        message: 'step "a": dataset "x" is written by this same step; read it in a step that needs this one',
      },
    ]);
  });

  it('ignores a name not there yet (a config whose credential fills it in later)', () => {
    const s: DatasetStep = {
      id: 'a',
      needs: [],
      components: [{ def: writer, config: {}, path: 'p', id: 'a.0:writes' }],
    };
    expect(datasetIssues([s])).toEqual([]);
  });
});

describe('datasetArea and resolveDataset', () => {
  it('records, resolves and forgets a dataset; refuses a name that would leave its directory', async () => {
    const area = datasetArea(mkdtempSync(join(tmpdir(), 'sluice-area-')));
    const ctx = { datasets: area, stepId: 'load' };
    await expect(resolveDataset(ctx, 'x', 'load.0:dataset: config.name')).rejects.toThrow(
      /dataset "x" has not been written in this run .* the step writing it must succeed before step "load" runs/,
    );
    const meta = {
      name: 'x',
      rows: 1,
      bytes: 10,
      checksum: '0000000000000001',
      columns: [],
      writtenBy: 'extract',
      writtenAt: new Date(0).toISOString(),
    };
    await area.record(meta);
    expect(await resolveDataset(ctx, 'x', 'w')).toEqual({ path: join(area.dir, 'x.parquet'), meta });
    await area.forget('x');
    expect(await area.meta('x')).toBeUndefined();
    expect(() => area.pathFor('../x')).toThrow(/"\.\.\/x" is not a dataset name/);
    await expect(resolveDataset({ stepId: 'load' }, 'x', 'w')).rejects.toThrow(/this run keeps no datasets/);
  });
});

describe('balanceDatasets', () => {
  const handoffs = datasetHandoffs([
    step('a', [], [], 'x'),
    step('b', ['a'], ['x']),
    step('c', ['a'], ['x']),
  ]);
  const report = (id: string, component: string, rowsOut: number, status = 'success'): StepReport =>
    ({ id, status, components: [{ id: component, rowsOut }] }) as unknown as StepReport;

  it('sets the rows each reading source read against the rows the writer wrote', () => {
    const steps = [report('a', 'a.1:writes', 10), report('b', 'b.0:reads', 10), report('c', 'c.0:reads', 9)];
    expect(balanceDatasets(handoffs, steps)).toEqual({
      datasets: [
        {
          name: 'x',
          writer: 'a',
          rowsWritten: 10,
          readers: [
            { step: 'b', rowsRead: 10 },
            { step: 'c', rowsRead: 9 },
          ],
        },
      ],
      problems: ['dataset "x": step "c" read 9 rows, step "a" wrote 10'],
    });
  });

  it('leaves out steps that did not succeed', () => {
    const steps = [report('a', 'a.1:writes', 10), report('b', 'b.0:reads', 3, 'failed')];
    expect(balanceDatasets(handoffs, steps)).toEqual({ datasets: [], problems: [] });
    expect(balanceDatasets(handoffs, [report('a', 'a.1:writes', 10, 'failed')]).datasets).toEqual([]);
  });
});
