import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { defineSink, defineSource } from './connector.ts';
import { type DatasetStep, datasetArea, datasetIssues, resolveDataset } from './dataset.ts';

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
    { def: reader, config: { names: reads }, path: `${id}.flow[0]` },
    ...(writes ? [{ def: writer, config: { name: writes }, path: `${id}.flow[1]` }] : []),
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
    const s: DatasetStep = { id: 'a', needs: [], components: [{ def: writer, config: {}, path: 'p' }] };
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
