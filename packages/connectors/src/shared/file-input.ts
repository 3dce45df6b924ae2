import { ErrorCode, SluiceError } from '@sluice/core';
import { type LocationContext, openLocation } from '../location/index.ts';
import type { LocationOptions } from '../location/options.ts';
import type { LocationEntry } from '../location/types.ts';
import { type Codec, type Compression, codecOf, decompress } from './compression.ts';

export interface FileInput {
  /** What was opened: an absolute local path (symlinks resolved when the run restricts paths) or a URL. */
  path: string;
  /** Size of the file as stored, for progress. */
  size: number;
  /** How the content is compressed, if it is (offsets then count decompressed bytes). */
  codec: Codec | undefined;
  /** Content from `start` on, in chunks of up to `chunkSize` bytes. */
  chunks: AsyncIterable<Buffer>;
  /** Bytes of the file on disk read so far (compressed bytes for .gz or .zst), for progress. */
  bytesRead(): number;
}

export interface OpenOptions {
  /** The component's context: relative paths resolve against its `baseDir`; its path policy applies. */
  ctx: LocationContext;
  /** How to reach a remote path (the config's `s3`, `sftp`, `http` groups). */
  options?: LocationOptions;
  /** Offset in the (decompressed) content to start from; a resumed read passes its checkpoint. */
  start?: number;
  /**
   * Offset to stop before (a partition's byte range): the store is asked for no byte past it.
   * Plain files only: compressed content has no offsets a store could stop at.
   * @defaultValue the end of the file
   */
  end?: number;
  /** `auto` decompresses files whose name ends in `.gz`, `.zst` or `.zstd`. */
  compression?: Compression;
  signal: AbortSignal;
  chunkSize?: number;
  /**
   * Called with the file's entry once it is found, before any byte is read: what it throws fails
   * the open (a partition's check that the file is the one it was cut from).
   */
  checkEntry?: (entry: LocationEntry) => void;
  /** Used in error messages: the step and config path that named the file. */
  where: string;
}

/**
 * Opens a file for streaming, with actionable errors for the usual mistakes. A path the run's
 * policy forbids fails with PATH_FORBIDDEN before anything about it is looked at.
 */
export async function openFileInput(path: string, opts: OpenOptions): Promise<FileInput> {
  const location = await openLocation(path, opts.options ?? {}, opts.ctx, opts.where);
  let entry: Awaited<ReturnType<typeof location.stat>>;
  try {
    entry = await location.stat(path, opts.signal);
    opts.checkEntry?.(entry);
  } catch (err) {
    await location.close();
    throw err;
  }
  const codec = codecOf(entry.url, opts.compression);
  const start = opts.start ?? 0;
  if (codec && opts.end !== undefined) {
    await location.close();
    throw new SluiceError(
      ErrorCode.INTERNAL,
      `${opts.where}: ${entry.url} is ${codec}-compressed, so it cannot be read up to a byte offset`,
    );
  }
  const chunkSize = opts.chunkSize ?? 1 << 20;
  let read = 0;
  // A plain file seeks; compressed data cannot, so a resumed read decompresses and skips to `start`.
  const raw = counted(
    location.read(path, {
      start: codec ? 0 : start,
      ...(opts.end === undefined ? {} : { end: opts.end }),
      signal: opts.signal,
      chunkSize,
    }),
    (n) => {
      read += n;
    },
  );
  const explicit = opts.compression === 'gzip' || opts.compression === 'zstd';
  const chunks = codec
    ? skip(decompress(raw, codec, `${opts.where}: ${entry.url}`, explicit, chunkSize), start)
    : raw;
  return {
    path: entry.url,
    size: entry.size,
    codec,
    chunks: closing(chunks, location),
    bytesRead: () => read,
  };
}

async function* counted(chunks: AsyncIterable<Buffer>, add: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const c of chunks) {
    add(c.length);
    yield c;
  }
}

/** The location's connections end with the read, however it ends. */
async function* closing(chunks: AsyncIterable<Buffer>, location: { close(): Promise<void> }) {
  try {
    yield* chunks;
  } finally {
    await location.close();
  }
}

async function* skip(source: AsyncIterable<Buffer>, bytes: number): AsyncGenerator<Buffer> {
  let left = bytes;
  for await (const chunk of source) {
    if (left >= chunk.length) {
      left -= chunk.length;
      continue;
    }
    yield left > 0 ? chunk.subarray(left) : chunk;
    left = 0;
  }
}
