import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '@sluice/core';
import { sinkConformance, sourceConformance } from '../../test/conformance.ts';
import { unreachableS3 } from '../../test/conformance-checks.ts';
import { cliSinkConformance, cliSourceConformance } from '../../test/conformance-cli.ts';
import { openSink, readSource } from '../../test/harness.ts';
import { parquetSink } from './sink.ts';
import { parquetSource } from './source.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-parquet-conf-'));
const sample: Row[] = [
  { id: 1, name: 'Ana', amount: 10.5, active: true, tags: ['a', 'b'] },
  { id: 2, name: 'Bruno', amount: -3.25, active: false, tags: [] },
  { id: 3, name: null, amount: 0.1, active: null, tags: { k: 1 } },
  { id: 4, name: 'Dora', amount: 7, active: true, tags: null },
];

sourceConformance('parquet', {
  def: parquetSource,
  resumable: true,
  badConfig: { path: 'x.parquet', batchSize: 0 },
  badPath: 'with.batchSize',
  secret: unreachableS3('in.parquet'),
  sample,
  async setup(rows) {
    const path = join(tmp(), 'in.parquet');
    const { writer } = await openSink(parquetSink, { path, rowGroupSize: 3, schema: { amount: 'number' } });
    await writer.start(undefined);
    await writer.write(rows);
    await writer.close();
    return { path };
  },
});

sinkConformance('parquet', {
  def: parquetSink,
  badConfig: { path: 'x.parquet', compression: 'lzo' },
  badPath: 'with.compression',
  resumable: true,
  secret: unreachableS3('out.parquet'),
  sample,
  async setup() {
    return { path: join(tmp(), 'out.parquet'), rowGroupSize: 2, schema: { amount: 'number' } };
  },
  async readBack(config) {
    return (await readSource(parquetSource, { path: config.path })).rows;
  },
});

cliSourceConformance('parquet', 'parquet', {
  async input(rows, dir) {
    const { writer } = await openSink(parquetSink, { path: join(dir, 'in.parquet'), rowGroupSize: 100 });
    await writer.start(undefined);
    await writer.write(rows);
    await writer.close();
    return { path: 'in.parquet', batchSize: 50 };
  },
  secret: { coveredBy: 'csv on S3, ndjson on SFTP, csv over HTTP' },
});

// The parquet sink proves counts only (its footer's row count); it refuses verify: content.
cliSinkConformance('parquet', 'parquet', {
  output: async () => ({ path: 'out.parquet', rowGroupSize: 100 }),
  readBack: async (c, dir) => (await readSource(parquetSource, { path: join(dir, c.path as string) })).rows,
  verify: 'count',
  resumable: true,
  secret: { coveredBy: 'ndjson on S3, csv on SFTP' },
});
