import { type Static, Type } from '@sinclair/typebox';
import { defineSink, ErrorCode, type SinkContext, type SinkWriter, SluiceError } from '@sluice/core';
import { type ParquetSinkConfig, parquetSinkConfig } from '../parquet/config.ts';
import { areaOf, datasetName, describeDataset } from './area.ts';

export const datasetSinkConfig = Type.Object(
  {
    name: datasetName,
    schema: Type.Optional({
      ...parquetSinkConfig.properties.schema,
      description:
        'Column types, as the parquet sink takes them (string, integer, number, boolean, date, timestamp, ' +
        'json); columns not named are inferred from the first row group. A row that does not fit goes to quarantine.',
      examples: [{ id: 'integer', placed_at: 'timestamp' }],
    }),
    rowGroupSize: Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      default: 100_000,
      description: 'Rows per Parquet row group; the sink holds one row group in memory.',
      examples: [100_000],
    }),
    // What a dataset can prove: its file read back against the rows handed to it. Content is
    // proven by its readers instead, against the checksum recorded.
    verify: Type.Unsafe<'count'>({
      type: 'string',
      enum: ['count'],
      default: 'count',
      description:
        'count: the file, read back once complete, holds the rows handed to the sink. Its checksum is ' +
        'recorded and every step reading the dataset compares its rows against it.',
      examples: ['count'],
    }),
  },
  { additionalProperties: false },
);
export type DatasetSinkConfig = Static<typeof datasetSinkConfig>;

/**
 * Hands a flow's rows to later steps: a Parquet file in the run's dataset area, written by the
 * parquet sink's code (crash-safe through `.partial`, resumable), then read back once to record
 * its rows, checksum and columns for its readers to check.
 */
export const datasetSink = defineSink({
  name: 'dataset',
  version: '1.0.0',
  summary:
    "Writes rows as a named dataset (Parquet in the run's state or the job's workspace) that later steps read with source: dataset.",
  config: datasetSinkConfig,
  example: { name: 'orders', rowGroupSize: 100_000, verify: 'count' },
  datasets: (cfg) => [{ name: cfg.name, access: 'write', path: 'name' }],
  async open(ctx: SinkContext<DatasetSinkConfig>): Promise<SinkWriter> {
    const cfg = ctx.config;
    const area = areaOf(ctx);
    const path = area.pathFor(cfg.name);
    const config: ParquetSinkConfig = {
      path,
      overwrite: true,
      verify: 'count',
      compression: 'snappy',
      rowGroupSize: cfg.rowGroupSize,
      ...(cfg.schema ? { schema: cfg.schema } : {}),
    };
    // Loaded with the first Parquet file written: hyparquet-writer takes ~100 ms to load.
    const { ParquetOutput } = await import('../parquet/output.ts');
    // The area is the run's, outside the paths a user's config may name.
    const out = await ParquetOutput.create({ ...ctx, config, paths: undefined });
    return {
      start: async (resume) => {
        // Until this run completes the file again, readers must not take the last run's.
        await area.forget(cfg.name);
        await out.start(resume);
      },
      // A quarantine replay adds the rows it fixed to the dataset, which is then recorded anew.
      startAppend: async (resume) => {
        await area.forget(cfg.name);
        await out.startAppend(resume);
      },
      write: (rows) => out.write(rows),
      commit: () => out.commit(),
      close: async () => {
        const result = await out.close();
        // Also after a resume that found the file published already: the record is made again.
        const meta = await describeDataset(ctx, cfg.name, path);
        const expected = result.verification?.rowsFound;
        if (expected !== undefined && meta.rows !== expected)
          throw new SluiceError(
            ErrorCode.INTEGRITY,
            `${ctx.componentId}: dataset "${cfg.name}": ${path} reads back ${meta.rows} rows, its footer says ${expected}`,
          );
        await area.record(meta);
        return { ...result, bytes: meta.bytes, location: `dataset ${cfg.name} (${path})` };
      },
      abort: () => out.abort(),
    };
  },
});
