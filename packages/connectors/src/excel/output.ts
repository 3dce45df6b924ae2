import { open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode, resolveLocalPath, type SinkContext, SluiceError } from '@sluice/core';
import type { LocationOptions } from '../location/options.ts';
import { plainPath, schemeOf } from '../location/url.ts';
import type { FinalFile } from '../shared/file-output.ts';
import { remoteFinal, stagingPath } from '../shared/remote-output.ts';

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
  const path = ctx.config.path;
  if (schemeOf(path) !== 'file') {
    const staged = await stagingPath(ctx, path);
    return { partial: `${staged}.partial`, final: remoteFinal(path, ctx.config, ctx, where, ctx.signal) };
  }
  const abs = await resolveLocalPath(ctx, plainPath(path), where);
  if (ctx.paths) await resolveLocalPath(ctx, `${abs}.partial`, where);
  return { partial: `${abs}.partial`, final: localFinal(abs) };
}

function localFinal(path: string): FinalFile {
  return {
    name: path,
    async size() {
      const st = await stat(path).catch(() => undefined);
      return st === undefined ? undefined : st.isDirectory() ? 'dir' : st.size;
    },
    async publish(partial) {
      await rename(partial, path);
      // A rename is durable once its directory is synced; some file systems refuse, which is fine.
      const dir = await open(dirname(path), 'r').catch(() => undefined);
      await dir
        ?.sync()
        .catch(() => undefined)
        .finally(() => dir.close());
    },
    async fetch() {
      throw new SluiceError(ErrorCode.INTERNAL, `${path}: the excel sink never appends to a workbook`);
    },
  };
}

/** Refuses a final path that is a directory, or that exists when `overwrite` is false. */
export async function checkFinal(final: FinalFile, overwrite: boolean, where: string): Promise<void> {
  const size = await final.size();
  if (size === undefined) return;
  if (size === 'dir') {
    throw new SluiceError(
      ErrorCode.CONFIG,
      `${where}: ${final.name} is a directory; set config.path to a file name inside it.`,
    );
  }
  if (!overwrite) {
    throw new SluiceError(
      ErrorCode.CONFIG,
      `${where}: ${final.name} already exists and config.overwrite is false. Move or delete the file, ` +
        'choose another path, or set overwrite: true.',
    );
  }
}
