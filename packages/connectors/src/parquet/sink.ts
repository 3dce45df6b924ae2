import { defineSink, type Issue, type SinkContext, type SinkWriter } from '@sluice/core';
import { fileOutputIssues } from '../shared/file-sink-config.ts';
import { type ParquetSinkConfig, parquetSinkConfig } from './config.ts';

export const parquetSink = defineSink({
  name: 'parquet',
  version: '1.0.0',
  summary:
    'Writes rows to an Apache Parquet file, one row group at a time, crash-safe and resumable (snappy, gzip, brotli or none).',
  config: parquetSinkConfig,
  example: {
    path: 'out/orders.parquet',
    overwrite: true,
    verify: 'count',
    compression: 'snappy',
    rowGroupSize: 100_000,
    schema: { id: 'integer', placed_at: 'timestamp' },
  },
  check: parquetSinkIssues,
  async open(ctx: SinkContext<ParquetSinkConfig>): Promise<SinkWriter> {
    // Loaded when a run writes Parquet, not with every command: hyparquet-writer takes ~100 ms to load.
    const { ParquetOutput } = await import('./output.ts');
    const out = await ParquetOutput.create(ctx);
    return {
      start: (resume) => out.start(resume),
      startAppend: (resume) => out.startAppend(resume),
      write: (rows) => out.write(rows),
      commit: () => out.commit(),
      close: () => out.close(),
      abort: () => out.abort(),
    };
  },
});

function parquetSinkIssues(cfg: ParquetSinkConfig): Issue[] {
  const issues = fileOutputIssues(cfg);
  if (cfg.verify === 'content') {
    issues.push({
      path: 'verify',
      message:
        'the parquet sink verifies `count` (the row count in the written footer against the rows handed ' +
        'to it); it has no content checksum. Set verify: count.',
    });
  }
  return issues;
}
