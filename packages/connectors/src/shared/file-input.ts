import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ErrorCode, FatalError } from '@sluice/core';
import { type LocationContext, openLocation } from '../location/index.ts';
import type { LocationOptions } from '../location/options.ts';

export interface FileInput {
  /** What was opened: an absolute local path (symlinks resolved when the run restricts paths) or a URL. */
  path: string;
  /** Size of the file as stored, for progress. */
  size: number;
  /** Whether the content is gzip-compressed (offsets then count decompressed bytes). */
  gzip: boolean;
  /** Content from `start` on, in chunks of up to `chunkSize` bytes. */
  chunks: AsyncIterable<Buffer>;
  /** Bytes of the file on disk read so far (compressed bytes for .gz), for progress. */
  bytesRead(): number;
}

export interface OpenOptions {
  /** The component's context: relative paths resolve against its `baseDir`; its path policy applies. */
  ctx: LocationContext;
  /** How to reach a remote path (the config's `s3`, `sftp`, `http` groups). */
  options?: LocationOptions;
  /** Offset in the (decompressed) content to start from; a resumed read passes its checkpoint. */
  start?: number;
  /** `auto` decompresses files whose name ends in `.gz`. */
  compression?: 'auto' | 'gzip' | 'none';
  signal: AbortSignal;
  chunkSize?: number;
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
  } catch (err) {
    await location.close();
    throw err;
  }
  const gzip = opts.compression === 'gzip' || (opts.compression !== 'none' && /\.gz$/i.test(entry.url));
  const start = opts.start ?? 0;
  const chunkSize = opts.chunkSize ?? 1 << 20;
  let read = 0;
  // A plain file seeks; gzip cannot, so a resumed .gz read decompresses and skips to `start`.
  const raw = counted(
    location.read(path, { start: gzip ? 0 : start, signal: opts.signal, chunkSize }),
    (n) => {
      read += n;
    },
  );
  const chunks = gzip
    ? gunzipped(
        skip(gunzip(raw, chunkSize), start),
        `${opts.where}: ${entry.url}`,
        opts.compression === 'gzip',
      )
    : raw;
  return {
    path: entry.url,
    size: entry.size,
    gzip,
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

function gunzip(source: AsyncIterable<Buffer>, chunkSize: number): AsyncIterable<Buffer> {
  const z = createGunzip({ chunkSize });
  // The file's errors reach the reader through the gunzip (which pipeline destroys with them);
  // a reader that stops early destroys the gunzip, and pipeline then ends the file's read.
  pipeline(Readable.from(source), z).catch(() => undefined);
  return z;
}

/**
 * Names zlib's errors. A file that is not gzip, or is cut short or corrupt, fails the same way on
 * every attempt: the error is fatal, with a code the platform does not retry either.
 */
async function* gunzipped(
  chunks: AsyncIterable<Buffer>,
  file: string,
  explicit: boolean,
): AsyncGenerator<Buffer> {
  try {
    yield* chunks;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'Z_DATA_ERROR' && code !== 'Z_BUF_ERROR') throw err;
    const zlib = `zlib: ${(err as Error).message}`;
    const message =
      (err as Error).message === 'incorrect header check'
        ? `not a gzip file (${zlib}); ${explicit ? 'set compression: auto or none' : 'remove the .gz suffix or set compression: none'}`
        : code === 'Z_BUF_ERROR'
          ? `the gzip data ends too soon (${zlib}): the file was cut short; fetch or write it again`
          : `the gzip data is corrupt (${zlib}); fetch or write the file again`;
    throw new FatalError(`${file}: ${message}`, { code: ErrorCode.CONFIG, cause: err });
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
