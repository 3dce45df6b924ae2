/**
 * A partitioned step's parts of a glob: groups of whole files, which any file source reading
 * through `overFiles` reads as it reads the glob (positions, quarantine and `fileField` alike).
 */
import { ErrorCode, type Json, type PartitionedRead, SluiceError, type SourceContext } from '@sluice/core';
import { isGlob, matchFiles } from '../location/files.ts';
import { openLocation } from '../location/index.ts';
import type { LocationEntry } from '../location/types.ts';
import type { FileSetConfig } from './file-set.ts';

/** A part of a glob: the files it reads, by address, in name order. */
export interface FilesPart {
  files: string[];
}

/** Why a file source's config cannot be partitioned whatever its files, or undefined. */
export function fileSetRefusal(cfg: FileSetConfig): string | undefined {
  if (cfg.incremental)
    return (
      'incremental: true keeps the files read in the step state, which partitions would each keep ' +
      "apart and miss each other's; read without incremental, or without partitions"
    );
  return undefined;
}

/**
 * The `partitions` of a file source that reads whole files only (json, parquet, excel, pdf): the
 * files of a glob dealt into groups. One file cannot be cut, and a step of one part would only
 * hide that it runs on one worker: it is refused.
 */
export function globPartitions<C extends FileSetConfig>(example: string): PartitionedRead<C> {
  return {
    check: (cfg) =>
      fileSetRefusal(cfg) ??
      (isGlob(cfg.path)
        ? undefined
        : `${cfg.path} is one file, which this source cannot cut into parts; partitions read the files of a ` +
          `glob (path: ${example}), a group of files each`),
    plan: (ctx, n) => planFileParts(ctx, n),
  };
}

/**
 * The files `path` names dealt into at most `n` groups of about equal bytes: the largest file
 * first, each to the group with the fewest bytes so far. Fewer groups than `n` when there are
 * fewer files, so no group is empty. Empty files are dealt too: a whole read would open them.
 */
export async function planFileParts<C extends FileSetConfig>(
  ctx: SourceContext<C>,
  n: number,
): Promise<Json[]> {
  const files = await listFiles(ctx);
  const groups = Array.from({ length: Math.min(n, files.length) }, () => ({
    bytes: 0,
    files: [] as string[],
  }));
  const bySize = [...files].sort((a, b) => b.size - a.size || (a.url < b.url ? -1 : 1));
  for (const f of bySize) {
    let lightest = groups[0]!;
    // Fewest files breaks a tie, so every group gets a file before any gets two.
    for (const g of groups)
      if (g.bytes < lightest.bytes || (g.bytes === lightest.bytes && g.files.length < lightest.files.length))
        lightest = g;
    lightest.bytes += f.size;
    lightest.files.push(f.url);
  }
  return groups
    .map((g): FilesPart => ({ files: g.files.sort() }))
    .sort((a, b) => (a.files[0]! < b.files[0]! ? -1 : 1)) as unknown as Json[];
}

/** The files `path` names (one, or a glob's), as `overFiles` lists them. */
export async function listFiles<C extends FileSetConfig>(ctx: SourceContext<C>): Promise<LocationEntry[]> {
  const cfg = ctx.config;
  const where = `${ctx.componentId}: config.path`;
  const location = await openLocation(cfg.path, cfg, ctx, where);
  try {
    return await matchFiles(location, cfg.path, { baseDir: ctx.baseDir, signal: ctx.signal, where });
  } finally {
    await location.close();
  }
}

/** The files of `part` when it is a group of files (see FilesPart), else undefined. */
export function filesOfPart(part: Json | undefined, where: string): string[] | undefined {
  if (part === null || typeof part !== 'object' || Array.isArray(part) || !('files' in part))
    return undefined;
  const files = part.files;
  if (!Array.isArray(files) || files.length === 0 || files.some((f) => typeof f !== 'string'))
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `${where}: the partition's part ${JSON.stringify(part)} is not a group of files ({files: [address, …]}); ` +
        'it was cut for another config or version of this step. Run the job again to cut the input anew',
    );
  return files as string[];
}

/**
 * The entries of a part's files among those `path` names now. A file of the part that is gone (or
 * no longer matches) fails the read: its rows would be lost without a word.
 */
export function partEntries(all: LocationEntry[], files: readonly string[], where: string): LocationEntry[] {
  const wanted = new Set(files);
  const found = all.filter((f) => wanted.has(f.url));
  if (found.length !== wanted.size) {
    const have = new Set(found.map((f) => f.url));
    const missing = files.filter((f) => !have.has(f));
    throw new SluiceError(
      ErrorCode.NOT_FOUND,
      `${where}: ${missing.join(', ')} of this partition no longer match config.path; the files changed since ` +
        'the step was cut into partitions. Run the job again to cut the input anew',
    );
  }
  return found;
}
