import { open } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import {
  Checksum,
  type ComponentContext,
  DATASET_NAME_PATTERN,
  type DatasetArea,
  type DatasetMeta,
  ErrorCode,
  type Json,
  SluiceError,
  type SourceBatch,
  type SourceContext,
} from '@sluice/core';
import type { ParquetSourceConfig } from '../parquet/config.ts';
import { readFooter } from '../parquet/footer.ts';
import { typeOfElement } from '../parquet/schema.ts';
import { parquetSource } from '../parquet/source.ts';

/** The `name` every dataset connector takes. */
export const datasetName = Type.String({
  pattern: DATASET_NAME_PATTERN,
  maxLength: 100,
  description:
    "The dataset's name, unique within the pipeline: letters, digits, _ and -. A `sink: dataset` " +
    'writes it; a `source: dataset` (or a SQL transform input) in a step that needs the writer reads it.',
  examples: ['orders', 'clean-customers'],
});

/** The run's dataset area, or a CONFIG error saying where datasets can be used. */
export function areaOf(ctx: Pick<ComponentContext<unknown>, 'datasets' | 'componentId'>): DatasetArea {
  if (ctx.datasets) return ctx.datasets;
  throw new SluiceError(
    ErrorCode.CONFIG,
    `${ctx.componentId}: this run keeps no datasets: run the pipeline with sluice run or on the platform`,
  );
}

/**
 * The rows of a dataset's Parquet file, read by the parquet source's own code. The file's path is
 * the run's, not the user's: the run's path policy (which keeps steps out of the platform's data
 * directory, where a job's workspace is) does not apply to it.
 */
export function readDatasetFile(
  ctx: ComponentContext<unknown>,
  path: string,
  opts: { batchSize: number; resumeFrom?: Json | undefined; setOrigin?: (o: string) => void },
): AsyncIterable<SourceBatch> {
  const config: ParquetSourceConfig = { path, incremental: false, batchSize: opts.batchSize };
  const inner: SourceContext<ParquetSourceConfig> = {
    ...ctx,
    config,
    paths: undefined,
    resumeFrom: opts.resumeFrom,
    // A single file read neither globs nor remembers files: no state to keep.
    state: { get: () => undefined, set: () => {} },
    setOrigin: opts.setOrigin ?? (() => {}),
  };
  return parquetSource.read(inner);
}

/**
 * What a completed dataset file holds, as its readers will see it: rows and checksum from reading
 * it back (a value's Parquet form is not the row's: an integer string becomes a number, a
 * timestamp is normalised), columns from its footer.
 */
export async function describeDataset(
  ctx: ComponentContext<unknown>,
  name: string,
  path: string,
): Promise<DatasetMeta> {
  const where = `${ctx.componentId}: dataset "${name}"`;
  const handle = await open(path, 'r');
  let columns: DatasetMeta['columns'];
  let bytes: number;
  try {
    bytes = (await handle.stat()).size;
    const footer = await readFooter(handle, bytes, `${where}: ${path}`);
    columns = footer.schema
      .slice(1)
      .map((e) => ({ name: e.name, type: typeOfElement(e) ?? String(e.converted_type ?? e.type) }));
  } finally {
    await handle.close();
  }
  const sum = new Checksum();
  let rows = 0;
  const reading = {
    ...ctx,
    quarantine: () => {
      throw new SluiceError(
        ErrorCode.INTEGRITY,
        `${where}: a row of ${path} cannot be read back as it was written`,
      );
    },
  };
  for await (const b of readDatasetFile(reading, path, { batchSize: 4096 })) {
    sum.addRows(b.rows);
    rows += b.rows.length;
  }
  return {
    name,
    rows,
    bytes,
    checksum: sum.toString(),
    columns,
    writtenBy: ctx.stepId,
    writtenAt: new Date().toISOString(),
  };
}
