import type { Json, SourceBatch, SourceContext } from '@sluice/core';
import { ErrorCode, SluiceError } from '@sluice/core';
import { isGlob } from '../location/files.ts';
import type { LocationOptions } from '../location/options.ts';
import type { LocationEntry } from '../location/types.ts';
import { isBytePart } from './byte-parts.ts';
import { filesOfPart, listFiles, partEntries } from './file-parts.ts';

/** What `overFiles` needs of a file source's config (`fileSourceProperties`). */
export interface FileSetConfig extends LocationOptions {
  path: string;
  fileField?: string | undefined;
  incremental: boolean;
}

/** A checkpoint of a many-file read: the file being read and where in it (its reader's position). */
type SetPosition = { file: string; at: Json | null };

// The files an incremental source has read, by address: what tells a new or changed file.
const SEEN = 'files';
type Seen = Record<string, { size: number; modified?: string; etag?: string }>;

/**
 * Turns a one-file reader into one that reads what `path` names: one file, or every file a glob
 * matches, in name order, each through the same reader (so chunk sizes, quarantine with line
 * numbers and resume work alike). Positions then name the file; a resumed run skips the files
 * before it. A single file read without `fileField` or `incremental` is passed straight through,
 * its positions as they always were.
 *
 * A partition of a glob (`ctx.part` a FilesPart) reads only the part's files, the same way; a
 * partition of one file (a byte range) goes straight through to `readOne`, which reads its bytes.
 */
export function overFiles<C extends FileSetConfig>(
  readOne: (ctx: SourceContext<C>) => AsyncGenerator<SourceBatch>,
): (ctx: SourceContext<C>) => AsyncGenerator<SourceBatch> {
  return async function* read(ctx) {
    const cfg = ctx.config;
    const where = `${ctx.componentId}: config.path`;
    const partFiles = filesOfPart(ctx.part, where);
    if (partFiles === undefined && oneFile(cfg)) {
      yield* readOne(ctx);
      return;
    }
    if (ctx.part !== undefined && partFiles === undefined) {
      const kind = isBytePart(ctx.part) ? 'a byte range of one file' : 'no part of a file source';
      throw new SluiceError(
        ErrorCode.CHECKPOINT,
        `${where}: this partition's part ${JSON.stringify(ctx.part)} is ${kind}, but config.path ${cfg.path} ` +
          'reads many files (a glob, fileField or incremental); the config changed since the step was cut into ' +
          'partitions. Run the job again to cut the input anew',
      );
    }
    const listed = await listFiles(ctx);
    const files = partFiles === undefined ? listed : partEntries(listed, partFiles, where);
    const seen = (cfg.incremental ? ctx.state.get(SEEN) : undefined) as Seen | undefined;
    const todo = seen ? files.filter((f) => changed(seen[f.url], f)) : files;
    const resume = ctx.resumeFrom === undefined ? undefined : toSetPosition(ctx.resumeFrom, where);
    const total = todo.reduce((n, f) => n + f.size, 0);
    let before = 0;
    for (const file of todo) {
      if (resume && file.url < resume.file) {
        before += file.size;
        continue;
      }
      const at = resume && file.url === resume.file ? resume.at : null;
      // Without the part: each file of a group is read whole.
      const { part: _, ...rest } = ctx;
      const one = { ...rest, config: { ...cfg, path: file.url }, resumeFrom: at ?? undefined };
      for await (const b of readOne(one as SourceContext<C>)) {
        if (cfg.fileField !== undefined) for (const r of b.rows) r[cfg.fileField] = file.url;
        yield {
          rows: b.rows,
          position: { file: file.url, at: b.position ?? null } satisfies SetPosition,
          progress: { done: before + inFile(b.progress, file.size), total },
        };
      }
      before += file.size;
    }
    if (cfg.incremental) {
      const next: Seen = { ...seen };
      for (const f of files) next[f.url] = stamp(f);
      // Kept only when the whole step succeeds, as a SQL cursor is.
      ctx.state.set(SEEN, next as Json);
    }
  };
}

/**
 * Bytes of a file done, whatever unit its reader counts in: a reader that gives a total (rows for
 * parquet, bytes for text) is scaled to the file's size, one that does not is taken as bytes.
 */
function inFile(p: SourceBatch['progress'], size: number): number {
  if (p === undefined) return 0;
  const bytes = p.total ? (p.done / p.total) * size : p.done;
  return Math.min(Math.round(bytes), size);
}

function stamp(f: LocationEntry): Seen[string] {
  return {
    size: f.size,
    ...(f.modified ? { modified: f.modified.toISOString() } : {}),
    ...(f.etag ? { etag: f.etag } : {}),
  };
}

function changed(before: Seen[string] | undefined, now: LocationEntry): boolean {
  if (before === undefined) return true;
  const s = stamp(now);
  return s.size !== before.size || s.etag !== before.etag || s.modified !== before.modified;
}

function toSetPosition(p: Json, where: string): SetPosition {
  const o = p as Partial<SetPosition> | null;
  if (o === null || typeof o !== 'object' || typeof o.file !== 'string' || !('at' in o)) {
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `${where}: the checkpoint is not a many-file position ({file, at}); it was written by another ` +
        'version or config of this step. Run without --resume to start over',
    );
  }
  return { file: o.file, at: o.at ?? null };
}

/**
 * Whether the parallel path may read this config: one file, read whole, wherever it is. Globs,
 * `fileField` and `incremental` read serially, through `overFiles`.
 */
export function oneFile(cfg: FileSetConfig): boolean {
  return !isGlob(cfg.path) && cfg.fileField === undefined && !cfg.incremental;
}
