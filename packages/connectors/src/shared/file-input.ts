import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { createGunzip } from 'node:zlib';
import { ErrorCode, FatalError, type PathContext, resolveLocalPath, SluiceError } from '@sluice/core';

export interface FileInput {
  /** Absolute path that was opened (symlinks resolved when the run restricts paths). */
  path: string;
  /** Size of the file on disk, for progress. */
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
  ctx: PathContext;
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
  const abs = await resolveLocalPath(opts.ctx, path, opts.where);
  let size: number;
  try {
    const st = await stat(abs);
    if (st.isDirectory())
      throw new SluiceError(ErrorCode.NOT_FOUND, `${opts.where}: ${abs} is a directory, not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw new SluiceError(
      ErrorCode.NOT_FOUND,
      `${opts.where}: file not found: ${abs}` +
        (isAbsolute(path) ? '' : ` (relative paths resolve against ${opts.ctx.baseDir})`),
      { cause: err },
    );
  }
  const gzip = opts.compression === 'gzip' || (opts.compression !== 'none' && abs.endsWith('.gz'));
  const start = opts.start ?? 0;
  const highWaterMark = opts.chunkSize ?? 1 << 20;
  // A plain file seeks; gzip cannot, so a resumed .gz read decompresses and skips to `start`.
  const raw = createReadStream(abs, { start: gzip ? 0 : start, highWaterMark, signal: opts.signal });
  let chunks: AsyncIterable<Buffer> = raw;
  if (gzip) {
    const gunzip = createGunzip({ chunkSize: highWaterMark });
    // pipe() does not pass the file's errors on: the gunzip would wait for more input forever.
    raw.once('error', (err) => gunzip.destroy(err));
    chunks = gunzipped(skip(raw.pipe(gunzip), start), `${opts.where}: ${abs}`, opts.compression === 'gzip');
  }
  return { path: abs, size, gzip, chunks, bytesRead: () => raw.bytesRead };
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
