import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, SluiceError } from '@sluice/core';
import { type LocationContext, openLocation } from '../location/index.ts';
import type { LocationOptions } from '../location/options.ts';
import type { Location } from '../location/types.ts';
import type { FinalFile } from './final-file.ts';

/**
 * Where a sink stages a remote output while it writes: on this machine, under
 * `SLUICE_STAGING_DIR` (default the system's temporary directory), named for the run's step,
 * component and target so that a resumed run finds the `.partial` its checkpoint describes.
 */
export async function stagingPath(
  ctx: LocationContext & { componentId: string },
  url: string,
): Promise<string> {
  const dir = process.env.SLUICE_STAGING_DIR ?? join(tmpdir(), 'sluice-staging');
  await mkdir(dir, { recursive: true });
  const key = createHash('sha256')
    .update(`${ctx.baseDir}\0${ctx.stepId}\0${ctx.componentId}\0${url}`)
    .digest('hex')
    .slice(0, 24);
  return join(dir, `${key}-${basename(url).replace(/[^\w.-]/g, '_')}`);
}

/**
 * A sink's output on a remote store: written locally (crash-safe and resumable as a local file
 * is), then published in one atomic `put` when the step succeeds, and its size there checked.
 * Each operation opens the store and closes it: a sink touches it at its start and its end only.
 */
export function remoteFinal(
  url: string,
  options: LocationOptions,
  ctx: LocationContext,
  where: string,
  signal: AbortSignal,
): FinalFile {
  const using = async <T>(f: (l: Location) => Promise<T>): Promise<T> => {
    const location = await openLocation(url, options, ctx, where);
    try {
      return await f(location);
    } finally {
      await location.close();
    }
  };
  return {
    name: url,
    size: () =>
      using(async (l) => {
        try {
          return (await l.stat(url, signal)).size;
        } catch (err) {
          if ((err as SluiceError).code === ErrorCode.NOT_FOUND) return undefined;
          throw err;
        }
      }),
    publish: (partial) =>
      using(async (l) => {
        if (!l.writable) {
          throw new SluiceError(ErrorCode.CONFIG, `${where}: ${url}: ${l.scheme} locations are read-only`);
        }
        const size = (await stat(partial)).size;
        await l.put(url, partial, signal);
        const there = (await l.stat(url, signal)).size;
        if (there !== size) {
          throw new SluiceError(
            ErrorCode.INTEGRITY,
            `${where}: ${url} holds ${there} bytes after the upload of ${size}; the store changed or lost ` +
              'the file. Run the step again',
          );
        }
        await rm(partial, { force: true });
      }),
    fetch: (to) => using((l) => pipeline(Readable.from(l.read(url, { signal })), createWriteStream(to))),
  };
}
