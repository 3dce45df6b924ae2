import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { Type } from '@sinclair/typebox';
import { ErrorCode, FatalError } from '@sluice/core';
import { ZstdFrames } from './zstd-frames.ts';

/** How a file's bytes are compressed: told in the config, or `auto` by its name. */
export type Compression = 'auto' | 'gzip' | 'zstd' | 'none';
export type Codec = 'gzip' | 'zstd';

/** The `compression` property of the text file sources (`reading`) and sinks. */
export function compressionProperty(reading: boolean) {
  return Type.Union(
    [Type.Literal('auto'), Type.Literal('gzip'), Type.Literal('zstd'), Type.Literal('none')],
    {
      default: 'auto',
      description: reading
        ? '`auto` decompresses files whose name ends in .gz (gzip) or .zst/.zstd (Zstandard).'
        : '`auto` compresses when `path` ends in .gz (gzip) or .zst/.zstd (Zstandard). The file is written ' +
          'as gzip members or zstd frames that end at every checkpoint (and every ~1 MiB of text), which ' +
          'every gzip and zstd reader reads as one file.',
    },
  );
}

/** The codec of a file named `name`: the configured one, or by suffix for `auto`; none for plain text. */
export function codecOf(name: string, compression: Compression = 'auto'): Codec | undefined {
  if (compression === 'gzip' || compression === 'zstd') return compression;
  if (compression === 'none') return undefined;
  return suffixCodec(name);
}

/** The codec a file name's suffix names (a query string or fragment of a URL is not part of it). */
export function suffixCodec(name: string): Codec | undefined {
  const bare = name.replace(/[?#].*$/, '');
  if (/\.gz$/i.test(bare)) return 'gzip';
  if (/\.zstd?$/i.test(bare)) return 'zstd';
  return undefined;
}

/** The first bytes of every gzip member and of every zstd frame. */
export const MAGIC: Record<Codec, Buffer> = {
  gzip: Buffer.from([0x1f, 0x8b, 0x08]),
  zstd: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]),
};

// node:zlib has Zstandard from Node 22.15; Node 20 (which every machine here runs) uses fzstd
// (pure JS) to read and the zstd WebAssembly build to write.
type NativeZstd = {
  createZstdDecompress?: () => NodeJS.ReadWriteStream;
  zstdCompress?: (data: Uint8Array, opts: object, cb: (err: Error | null, out: Buffer) => void) => void;
  zstdDecompressSync?: (data: Uint8Array) => Buffer;
  constants: Record<string, number>;
};
const native = zlib as unknown as NativeZstd;

/**
 * Decompresses `source` (all of a file, from its first byte), naming what went wrong: a file that
 * is not of the codec, cut short or corrupt fails the same way on every attempt, so the error is
 * fatal. Concatenated gzip members and zstd frames read as one stream. `file` names the file in
 * messages; `explicit` says the codec was configured rather than guessed from the name.
 */
export async function* decompress(
  source: AsyncIterable<Buffer>,
  codec: Codec,
  file: string,
  explicit: boolean,
  chunkSize = 1 << 16,
): AsyncGenerator<Buffer> {
  const name = codec === 'gzip' ? 'gzip' : 'zstd';
  const fail = (problem: 'format' | 'short' | 'corrupt', err: unknown): FatalError => {
    const detail = `${codec === 'gzip' ? 'zlib' : 'zstd'}: ${(err as Error).message}`;
    const message =
      problem === 'format'
        ? `not a ${name} file (${detail}); ${explicit ? 'set compression: auto or none' : `remove the ${codec === 'gzip' ? '.gz' : '.zst'} suffix or set compression: none`}`
        : problem === 'short'
          ? `the ${name} data ends too soon (${detail}): the file was cut short; fetch or write it again`
          : `the ${name} data is corrupt (${detail}); fetch or write the file again`;
    return new FatalError(`${file}: ${message}`, { code: ErrorCode.CONFIG, cause: err });
  };
  if (codec === 'zstd' && native.createZstdDecompress === undefined) {
    yield* fzstdStream(source, fail);
    return;
  }
  const z =
    codec === 'gzip'
      ? zlib.createGunzip({ chunkSize: Math.max(chunkSize, 64) })
      : native.createZstdDecompress!();
  // The file's errors reach the reader through the decompressor (which pipeline destroys with
  // them); a reader that stops early destroys it, and pipeline then ends the file's read.
  // node:zlib's zstd ends a truncated frame quietly (Node 22.15 to 24): the frames are followed.
  const input = codec === 'zstd' ? framed(source, fail) : source;
  pipeline(Readable.from(input), z).catch(() => undefined);
  try {
    yield* z as AsyncIterable<Buffer>;
  } catch (err) {
    const code = String((err as NodeJS.ErrnoException).code ?? '');
    const message = (err as Error).message;
    if (code === 'Z_BUF_ERROR' || /unexpected end|truncated|src_size_wrong/i.test(message))
      throw fail('short', err);
    if (message === 'incorrect header check' || /unknown.frame|prefix_unknown/i.test(`${code} ${message}`)) {
      throw fail('format', err);
    }
    if (code === 'Z_DATA_ERROR' || code.startsWith('ZSTD_')) throw fail('corrupt', err);
    throw err;
  }
}

/** The raw zstd stream, checked to end between frames (see ZstdFrames). */
async function* framed(
  source: AsyncIterable<Buffer>,
  fail: (problem: 'format' | 'short' | 'corrupt', err: unknown) => FatalError,
): AsyncGenerator<Buffer> {
  const frames = new ZstdFrames();
  for await (const chunk of source) {
    frames.feed(chunk);
    if (frames.bad !== undefined) throw fail('format', new Error(frames.bad));
    yield chunk;
  }
  if (!frames.complete) throw fail('short', new Error('the last frame is incomplete'));
}

async function* fzstdStream(
  source: AsyncIterable<Buffer>,
  fail: (problem: 'format' | 'short' | 'corrupt', err: unknown) => FatalError,
): AsyncGenerator<Buffer> {
  const { Decompress } = await import('fzstd');
  let out: Uint8Array[] = [];
  const d = new Decompress((chunk) => {
    out.push(chunk);
  });
  // fzstd's codes: 0 not zstd data, 5 unexpected end of input, the rest corrupt data.
  const push = (chunk: Uint8Array, final: boolean): void => {
    try {
      d.push(chunk, final);
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (typeof code !== 'number') throw err;
      throw fail(code === 5 ? 'short' : code === 0 ? 'format' : 'corrupt', err);
    }
  };
  for await (const chunk of source) {
    push(chunk, false);
    if (out.length === 0) continue;
    // fzstd reuses none of its output buffers: each can be handed on as it is.
    const ready = out;
    out = [];
    for (const c of ready) yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  }
  push(new Uint8Array(0), true);
  for (const c of out) yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

const gzip = promisify(zlib.gzip);

/**
 * Compresses `data` into one complete gzip member or zstd frame. gzip (and zstd on Node >= 22.15)
 * runs on libuv's thread pool, so it overlaps the encoding of the next rows.
 */
export async function compressFrame(codec: Codec, data: Uint8Array): Promise<Buffer> {
  if (codec === 'gzip') return gzip(data);
  const zstdCompress = native.zstdCompress;
  if (zstdCompress !== undefined) {
    const params = { [native.constants.ZSTD_c_checksumFlag!]: 1 };
    return promisify(zstdCompress)(data, { params });
  }
  const wasm = await zstdWasm();
  const out = wasm.compress(data, ZSTD_LEVEL);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

// The zstd command's default. Measured on 43 MB of NDJSON (2 busy cores): 18x smaller, where
// gzip's level 6 made it 7.5x; the WebAssembly build compressed ~40 MB/s on the main thread.
const ZSTD_LEVEL = 3;

let wasmReady: Promise<typeof import('@bokuweb/zstd-wasm')> | undefined;
function zstdWasm(): Promise<typeof import('@bokuweb/zstd-wasm')> {
  wasmReady ??= import('@bokuweb/zstd-wasm').then(async (m) => {
    await m.init();
    return m;
  });
  return wasmReady;
}

/** Decompresses one whole, small input at once (a json sink's trailer frame). */
export async function decompressSmall(codec: Codec, data: Uint8Array): Promise<Buffer> {
  if (codec === 'gzip') return zlib.gunzipSync(data);
  if (native.zstdDecompressSync) return native.zstdDecompressSync(data);
  const { decompress: fzstd } = await import('fzstd');
  const out = fzstd(data);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
