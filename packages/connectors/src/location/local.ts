import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { ErrorCode, type PathContext, resolveLocalPath, SluiceError } from '@sluice/core';
import type { Location, LocationEntry, ReadRange } from './types.ts';
import { plainPath } from './url.ts';

/**
 * Files on this machine. Every path goes through the run's path policy first (the platform's
 * roots), so a glob or a listing cannot reach past them either.
 */
export function localLocation(ctx: PathContext, where: string): Location {
  const resolved = (path: string) => resolveLocalPath(ctx, plainPath(path), where);
  const missing = (path: string, abs: string, cause: unknown) =>
    new SluiceError(
      ErrorCode.NOT_FOUND,
      `${where}: file not found: ${abs}` +
        (isAbsolute(path) ? '' : ` (relative paths resolve against ${ctx.baseDir})`),
      { cause },
    );
  return {
    scheme: 'file',
    writable: true,
    async stat(path) {
      const abs = await resolved(path);
      const st = await stat(abs).catch((err) => {
        throw missing(path, abs, err);
      });
      if (st.isDirectory())
        throw new SluiceError(ErrorCode.NOT_FOUND, `${where}: ${abs} is a directory, not a file`);
      return { url: abs, size: st.size, modified: st.mtime };
    },
    async *list(prefix, signal) {
      const abs = await resolved(prefix);
      yield* walk(abs, signal);
    },
    read(path, range: ReadRange) {
      return (async function* () {
        const abs = await resolved(path);
        const end = range.end === undefined ? undefined : range.end - 1;
        if (end !== undefined && end < (range.start ?? 0)) return;
        yield* createReadStream(abs, {
          start: range.start ?? 0,
          ...(end === undefined ? {} : { end }),
          highWaterMark: range.chunkSize ?? 1 << 20,
          signal: range.signal,
        });
      })();
    },
    async put(path, from) {
      const abs = await resolved(path);
      await mkdir(dirname(abs), { recursive: true });
      // Copied beside the target, then renamed over it: a reader sees the old file or the new.
      const temp = `${abs}.uploading`;
      await copyFile(from, temp);
      await rename(temp, abs);
    },
    async delete(path) {
      await rm(await resolved(path), { force: true });
    },
    async close() {},
  };
}

async function* walk(dir: string, signal: AbortSignal): AsyncGenerator<LocationEntry> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    // A prefix that is not (yet) a directory lists nothing, as an S3 prefix with no keys does.
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
    throw err;
  });
  for (const e of entries) {
    signal.throwIfAborted();
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* walk(path, signal);
    else if (e.isFile()) {
      const st = await stat(path);
      yield { url: path, size: st.size, modified: st.mtime };
    }
  }
}
