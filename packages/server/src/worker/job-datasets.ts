import { join } from 'node:path';
import { type DatasetArea, datasetArea } from '@sluice/core';

/**
 * A job's dataset area: the datasets its steps write in `dir`, and other pipelines' datasets its
 * steps read (`source: dataset` with `pipeline`) as the worker fetched them, in `dir/from/<pipeline>`
 * (a directory: no dataset's `<name>.parquet` or `<name>.json` can be named so).
 */
export const jobDatasetArea = (dir: string): DatasetArea =>
  datasetArea(dir, (pipeline) => join(dir, 'from', pipeline));
