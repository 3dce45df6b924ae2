import { dirname } from 'node:path';
import { ErrorCode, type Row, SluiceError } from '@sluice/core';
import { readDatasetFile } from './area.ts';

const quiet = () => {};

/**
 * The first `limit` rows of a dataset's Parquet file, as a `source: dataset` would give them: what
 * the platform's preview shows. Only the row groups holding them are decoded.
 */
export async function previewDatasetFile(path: string, limit: number, signal: AbortSignal): Promise<Row[]> {
  const rows: Row[] = [];
  if (limit <= 0) return rows;
  const ctx = {
    config: undefined,
    signal,
    stepId: 'preview',
    componentId: 'preview:dataset',
    baseDir: dirname(path),
    params: {},
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    quarantine: () => {
      throw new SluiceError(ErrorCode.INTEGRITY, `a row of ${path} cannot be read as it was written`);
    },
  };
  for await (const b of readDatasetFile(ctx, path, { batchSize: Math.min(limit, 4096) })) {
    for (const r of b.rows) {
      rows.push(r);
      if (rows.length >= limit) return rows;
    }
  }
  return rows;
}
