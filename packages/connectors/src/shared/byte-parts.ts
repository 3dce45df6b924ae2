/**
 * A partitioned step's parts of one plain file as byte ranges (csv, ndjson): planned by scanning
 * the file once with the source's chunk cutter (the one its parallel path uses, so parts end where
 * records do), read by opening the file at the part's start and stopping at its end.
 */
import {
  type ChunkSplit,
  type ChunkStart,
  ErrorCode,
  type Json,
  SluiceError,
  type SourceContext,
} from '@sluice/core';
import type { LocationOptions } from '../location/options.ts';
import { openFileInput } from './file-input.ts';

/** The first piece read past a target whose record goes on (see cutPoints). */
const MIN_STEP = 4096;

/**
 * One part of a file: its first record's position (as the source's checkpoints spell it: offset,
 * line and what else the source keeps, the CSV columns), the offset it stops before, and the
 * file's size when it was cut, which tells a file changed since.
 */
export interface BytePart {
  start: ChunkStart & Record<string, Json>;
  end: number;
  size: number;
}

/**
 * Where to cut `split`'s input (from `split.start` on) into at most `n` parts of about equal
 * size: the starts of the parts, the first being `split.start`. A cut is the last record boundary
 * at or before its target (`size * i / n`), or the first one after it when a record spans the
 * target; parts are never empty, so long records or a small input give fewer.
 */
export async function cutPoints(
  split: ChunkSplit,
  n: number,
  bytes: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
): Promise<ChunkStart[]> {
  const first = split.start;
  const size = split.size;
  if (first.offset >= size) return [];
  const span = size - first.offset;
  const targets: number[] = [];
  for (let i = 1; i < n; i++) targets.push(first.offset + Math.floor((span * i) / n));
  const starts: ChunkStart[] = [first];
  // The cutter is handed the bytes from the last boundary it returned on (see ChunkSplit.cut):
  // `pending` holds them, and `base`/`line` say where they start.
  let pending: Buffer = Buffer.alloc(0);
  let scanned = 0;
  let base = first.offset;
  let line = first.line;
  let t = 0;
  // Set once the scan reached a target: the next boundary the cutter reports is its cut. Till
  // then the bytes go in small pieces, doubled each time (a record may be long), so the cut is
  // the first boundary after the target, or close to it.
  let waiting = false;
  let step = MIN_STEP;
  const record = (): void => {
    waiting = false;
    step = MIN_STEP;
    if (base > starts.at(-1)!.offset && base < size) starts.push({ offset: base, line });
    const at = base + pending.length;
    while (t < targets.length && targets[t]! <= at) t++;
  };
  const feed = (piece: Buffer): void => {
    pending = pending.length === 0 ? piece : Buffer.concat([pending, piece]);
    const got = split.cut(pending, scanned);
    scanned = got.scanned;
    if (got.boundary > 0) {
      line += split.lines(pending.subarray(0, got.boundary));
      base += got.boundary;
      pending = pending.subarray(got.boundary);
      scanned = Math.max(0, scanned - got.boundary);
    }
    if (t < targets.length && base + pending.length >= targets[t]!) waiting = true;
    if (waiting && got.boundary > 0) record();
  };
  for await (const chunk of bytes) {
    signal.throwIfAborted();
    let c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    // A piece ends at the next target, so the boundary the cutter then reports is the last one
    // before it.
    while (c.length > 0) {
      const at = base + pending.length;
      const target = targets[t];
      let k = c.length;
      if (waiting) {
        k = Math.min(c.length, step);
        step *= 2;
      } else if (target !== undefined) k = Math.min(c.length, target - at);
      feed(c.subarray(0, k));
      c = c.subarray(k);
    }
    if (t >= targets.length) break;
  }
  return starts;
}

/** The refusal of a compressed file, which has no offsets to start a part at. */
export function compressedRefusal(path: string): string {
  return (
    `${path} is compressed, and compressed data cannot be read from the middle; partition a glob of ` +
    'compressed files (a group of files each), or store the file uncompressed'
  );
}

/**
 * The byte-range parts of `split`'s file (see BytePart): `position` spells each start as the
 * source's checkpoints do. Remote files are read as the parallel path reads them (`split.bytes`).
 */
export async function planByteParts<C extends LocationOptions & { path: string }>(
  ctx: SourceContext<C>,
  split: ChunkSplit,
  n: number,
): Promise<Json[]> {
  const from = split.start.offset;
  const input = split.bytes
    ? split.bytes(from, ctx.signal)
    : (
        await openFileInput(ctx.config.path, {
          ctx,
          options: ctx.config,
          start: from,
          compression: 'none',
          signal: ctx.signal,
          chunkSize: 1 << 20,
          where: `${ctx.componentId}: config.path`,
        })
      ).chunks;
  // Ending the iteration early (every cut found) closes the file or its connection.
  const starts = await cutPoints(split, n, input, ctx.signal);
  return starts.map((s, i) => {
    const part: BytePart = {
      start: split.position(s) as BytePart['start'],
      end: starts[i + 1]?.offset ?? split.size,
      size: split.size,
    };
    return part as unknown as Json;
  });
}

/**
 * The one part of a file the cutter cannot follow (its records end in CR alone, say): the whole
 * file, read from its start as an unpartitioned read would (a header included); none when empty.
 */
export function wholeFilePart(size: number): Json[] {
  if (size === 0) return [];
  const part: BytePart = { start: { offset: 0, line: 1 }, end: size, size };
  return [part as unknown as Json];
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * `ctx.part` as a byte range of the file, checked: a part the planner did not make (another
 * version, another config) fails here rather than read the wrong bytes.
 */
export function toBytePart(part: Json, where: string): BytePart {
  const p = part as Partial<BytePart> | null;
  const s = p?.start;
  if (
    p === null ||
    typeof p !== 'object' ||
    s === null ||
    typeof s !== 'object' ||
    !isCount(s.offset) ||
    !Number.isSafeInteger(s.line) ||
    s.line < 1 ||
    !isCount(p.end) ||
    !isCount(p.size) ||
    p.end < s.offset ||
    p.end > p.size
  ) {
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `${where}: the partition's part ${JSON.stringify(part)} is not a byte range of one file ` +
        '({start: {offset, line}, end, size}); it was cut for another config or version of this step. ' +
        'Run the job again to cut the input anew',
    );
  }
  return p as BytePart;
}

/** Whether `part` is a byte range (rather than a group of files, see file-parts.ts). */
export function isBytePart(part: Json | undefined): boolean {
  return part !== null && typeof part === 'object' && !Array.isArray(part) && 'start' in part;
}

/**
 * Checks, once the file is open, that it is the file the part was cut from, and that a position
 * resumed from lies in the part: a file grown or cut since would shift every record boundary.
 */
export function checkBytePart(
  part: BytePart,
  size: number,
  resumeAt: number | undefined,
  file: string,
  where: string,
): void {
  if (size !== part.size)
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `${where}: ${file} is ${size} bytes but was ${part.size} when the step was cut into partitions: it ` +
        'changed since, so the parts no longer end where its records do. Run the job again to cut it anew',
    );
  if (resumeAt !== undefined && (resumeAt < part.start.offset || resumeAt > part.end))
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `${where}: the checkpoint's offset ${resumeAt} lies outside this partition's bytes ` +
        `${part.start.offset}–${part.end}; it was saved by another partition. Run without resuming to start over`,
    );
}
