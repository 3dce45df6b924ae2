import { constants } from 'node:fs';
import { copyFile, open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode, resolveLocalPath, type SinkContext, SluiceError } from '@sluice/core';
import type { LocationOptions } from '../location/options.ts';
import { plainPath, schemeOf } from '../location/url.ts';
import type { FinalFile } from './final-file.ts';
import { remoteFinal, stagingPath } from './remote-output.ts';

/**
 * Where every file sink writes (csv, ndjson, json, parquet, excel): `file` is the local file the
 * sink writes, with `.partial` appended, and `final` where it goes when the step succeeds. A local
 * `path` is written beside itself and renamed; a remote one is staged on this machine
 * (`stagingPath`) and published in one atomic put. Both local files pass the run's path policy:
 * either may already be a symlink leading elsewhere.
 */
export async function outputTarget(
  ctx: SinkContext<{ path: string } & LocationOptions>,
  where: string,
): Promise<{ file: string; final: FinalFile }> {
  const path = ctx.config.path;
  if (schemeOf(path) !== 'file') {
    return {
      file: await stagingPath(ctx, path),
      final: remoteFinal(path, ctx.config, ctx, where, ctx.signal),
    };
  }
  const abs = await resolveLocalPath(ctx, plainPath(path), where);
  if (ctx.paths) await resolveLocalPath(ctx, `${abs}.partial`, where);
  return { file: abs, final: localFinal(abs) };
}

/** The final file on this machine: `.partial` is renamed over it, and the rename made durable. */
export function localFinal(path: string): FinalFile {
  return {
    name: path,
    async size() {
      const st = await stat(path).catch(() => undefined);
      return st === undefined ? undefined : st.isDirectory() ? 'dir' : st.size;
    },
    async publish(partial) {
      await rename(partial, path);
      await syncDir(dirname(path));
    },
    async fetch(to) {
      await copyFile(path, to, constants.COPYFILE_FICLONE);
    },
  };
}

/**
 * Refuses a final path that is a directory, or that exists when `overwrite` is false (an append,
 * which replaces nothing, passes `overwrite: true`).
 */
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
      `${where}: ${final.name} already exists and config.overwrite is false. ` +
        'Move or delete the file, choose another path, or set overwrite: true.',
    );
  }
}

/** A rename is durable only once its directory is synced; some file systems refuse, which is fine. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync();
  } catch {
    // Not every platform lets a directory be fsynced (EISDIR/EPERM); the rename itself is done.
  } finally {
    await handle.close();
  }
}
