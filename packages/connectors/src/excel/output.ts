import type { SinkContext } from '@sluice/core';
import type { LocationOptions } from '../location/options.ts';
import type { FinalFile } from '../shared/final-file.ts';
import { outputTarget } from '../shared/output-target.ts';

/** Where a workbook is written while it grows, and where it goes once complete. */
export interface WorkbookTarget {
  /** The local file the writer streams into; never the final path. */
  partial: string;
  final: FinalFile;
}

/**
 * The staging rule of `fileOutput`: a local path is written as `<path>.partial` and renamed over
 * `path`; a remote one is staged on this machine (`stagingPath`) and published in one atomic put.
 * Both local files are checked against the run's path policy.
 */
export async function workbookTarget(
  ctx: SinkContext<{ path: string } & LocationOptions>,
  where: string,
): Promise<WorkbookTarget> {
  const { file, final } = await outputTarget(ctx, where);
  return { partial: `${file}.partial`, final };
}
