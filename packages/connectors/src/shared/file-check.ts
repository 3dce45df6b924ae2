import { Type } from '@sinclair/typebox';
import { type ConnectionCheck, type ConnectionCheckContext, ErrorCode, SluiceError } from '@sluice/core';
import { matchFiles } from '../location/files.ts';
import { openLocation } from '../location/index.ts';
import { type LocationOptions, locationProperties } from '../location/options.ts';
import type { Location } from '../location/types.ts';

async function using<T>(
  config: LocationOptions & { path: string },
  ctx: ConnectionCheckContext,
  f: (l: Location, where: string) => Promise<T>,
): Promise<T> {
  const where = `${ctx.stepId}: config.path`;
  const location = await openLocation(config.path, config, ctx, where);
  try {
    return await f(location, where);
  } finally {
    await location.close();
  }
}

const size = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1 << 20
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / (1 << 20)).toFixed(1)} MiB`;

/** A file source's connection check: the file (or every file of the glob) is there and readable. */
export const fileSourceConnection = {
  config: Type.Object({ path: Type.String({ minLength: 1 }), ...locationProperties }),
  check: checkFileSource,
} satisfies ConnectionCheck;

/** A file sink's connection check: see checkFileSink. */
export const fileSinkConnection = {
  config: Type.Object({ path: Type.String({ minLength: 1 }), ...locationProperties }),
  check: checkFileSink,
} satisfies ConnectionCheck;

function checkFileSource(
  config: LocationOptions & { path: string },
  ctx: ConnectionCheckContext,
): Promise<string> {
  return using(config, ctx, async (l, where) => {
    const files = await matchFiles(l, config.path, { baseDir: ctx.baseDir, signal: ctx.signal, where });
    const bytes = files.reduce((n, f) => n + f.size, 0);
    return files.length === 1
      ? `found ${files[0]!.url} (${size(bytes)})`
      : `found ${files.length} files matching ${config.path} (${size(bytes)} in all)`;
  });
}

/**
 * The store takes writes and its folder (prefix) can be listed,
 * which proves the address and the credentials without writing anything.
 */
function checkFileSink(
  config: LocationOptions & { path: string },
  ctx: ConnectionCheckContext,
): Promise<string> {
  return using(config, ctx, async (l, where) => {
    if (!l.writable) {
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${where}: ${config.path}: ${l.scheme} locations are read-only`,
      );
    }
    const prefix = config.path.slice(0, config.path.lastIndexOf('/') + 1) || '.';
    let seen = 0;
    for await (const _ of l.list(prefix, ctx.signal)) if (++seen >= 1) break;
    return `reached ${prefix} (${l.scheme}); the output is published at ${config.path} when a run succeeds`;
  });
}
