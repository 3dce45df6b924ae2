import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Row } from '@sluice/core';
import { sinkConformance, sourceConformance } from '../../test/conformance.ts';
import { cliSinkConformance } from '../../test/conformance-cli.ts';
import { openSink, readSource } from '../../test/harness.ts';
import { parquetSource } from '../parquet/source.ts';
import { datasetSink } from './sink.ts';
import { datasetSource } from './source.ts';

const sample: Row[] = [
  { id: 1, name: 'Ana', amount: 10.5, active: true, tags: ['a', 'b'] },
  { id: 2, name: 'Bruno', amount: -3.25, active: false, tags: [] },
  { id: 3, name: null, amount: 0.1, active: null, tags: { k: 1 } },
  { id: 4, name: 'Dora', amount: 7, active: true, tags: null },
];
// Each case its own dataset, as a database test takes its own schema.
let n = 0;
const fresh = () => `conf-${process.pid}-${++n}`;

sourceConformance('dataset', {
  def: datasetSource,
  resumable: true,
  badConfig: { name: '../etc', batchSize: 10 },
  badPath: 'with.name',
  secret: 'none',
  sample,
  async setup(rows) {
    const name = fresh();
    const { writer } = await openSink(datasetSink, { name, rowGroupSize: 3, schema: { amount: 'number' } });
    await writer.start(undefined);
    await writer.write(rows);
    await writer.close();
    return { name };
  },
});

sinkConformance('dataset', {
  def: datasetSink,
  badConfig: { name: 'orders', rowGroupSize: 0 },
  badPath: 'with.rowGroupSize',
  resumable: true,
  secret: 'none',
  sample,
  async setup() {
    return { name: fresh(), rowGroupSize: 2, schema: { amount: 'number' } };
  },
  // Through the dataset source: what a later step reads, checked against what the sink recorded.
  async readBack(config) {
    return (await readSource(datasetSource, { name: config.name })).rows;
  },
});

// The dataset's file sits in the run's state directory (`--state-dir`), under datasets/.
cliSinkConformance('dataset', 'dataset', {
  output: async () => ({ name: 'out', rowGroupSize: 100 }),
  readBack: async (c, dir) => {
    const path = join(dir, 'state', 'datasets', `${c.name as string}.parquet`);
    if (!existsSync(path)) throw new Error(`no dataset file at ${path}`);
    return (await readSource(parquetSource, { path })).rows;
  },
  verify: 'count',
  resumable: true,
  secret: { coveredBy: 'no secret: a dataset lives in the run' },
});
