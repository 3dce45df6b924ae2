import type { FileHandle } from 'node:fs/promises';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { Json } from '@sluice/core';
import { ByteWriter, type Writer } from 'hyparquet-writer';

/**
 * hyparquet-writer's byte sink over an open file: bytes gather in memory and go to the file at
 * each `flush`, which ParquetWriter calls after every row group (and awaits), so memory holds
 * one encoded row group. `offset` counts every byte of the file, including those written before
 * a resume, which is what the column chunk offsets in the footer must be.
 */
export class FileByteWriter extends ByteWriter implements Writer {
  readonly #handle: FileHandle;

  constructor(handle: FileHandle, at: number) {
    super(1 << 16);
    this.#handle = handle;
    this.offset = at;
  }

  async flush(): Promise<void> {
    let done = 0;
    const start = this.offset - this.index;
    const bytes = new Uint8Array(this.buffer, 0, this.index);
    while (done < bytes.length) {
      const { bytesWritten } = await this.#handle.write(bytes, done, bytes.length - done, start + done);
      done += bytesWritten;
    }
    this.index = 0;
  }

  override finish(): Promise<void> {
    return this.flush();
  }

  /** Drops what is buffered and not written (the magic a new ParquetWriter writes on resume). */
  discard(): void {
    this.offset -= this.index;
    this.index = 0;
  }
}

type Compress = (input: Uint8Array) => Uint8Array;
export type WriteCompressors = { SNAPPY?: Compress; GZIP: Compress; BROTLI: Compress };

/** The native `snappy` package's compressor; null where it has no binary for the platform. */
let nativeSnappy: Compress | null | undefined;

/**
 * Compressors for the codecs the sink offers: gzip and brotli from zlib, and snappy from the
 * `snappy` package (Rust, prebuilt for each platform) when it loads. hyparquet-writer's own
 * snappy, in JavaScript, took ~1.1 s of W5's ~12 s (of 500k rows written); the native one writes
 * the same raw snappy blocks. Without a binary for the platform, the built-in one serves.
 */
export async function writeCompressors(): Promise<WriteCompressors> {
  if (nativeSnappy === undefined) {
    try {
      const { compressSync } = await import('snappy');
      nativeSnappy = (input) => {
        const out = compressSync(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
        return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      };
    } catch {
      nativeSnappy = null;
    }
  }
  return {
    GZIP: (input) => new Uint8Array(gzipSync(input)),
    BROTLI: (input) => new Uint8Array(brotliCompressSync(input)),
    ...(nativeSnappy ? { SNAPPY: nativeSnappy } : {}),
  };
}

export const CODECS = { snappy: 'SNAPPY', gzip: 'GZIP', brotli: 'BROTLI', none: 'UNCOMPRESSED' } as const;

/**
 * Parquet metadata (bigints, byte arrays, -0 in statistics) as JSON for a checkpoint, and back:
 * the footer written at `close` describes row groups written by earlier attempts too.
 */
export function toJsonTagged(v: unknown): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return { $big: v.toString() };
  if (typeof v === 'number')
    return Number.isFinite(v) && !Object.is(v, -0) ? v : { $num: String(Object.is(v, -0) ? '-0' : v) };
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Uint8Array)
    return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (v instanceof Date) return { $date: v.toISOString() };
  if (Array.isArray(v)) return v.map(toJsonTagged);
  const out: Record<string, Json> = {};
  for (const [k, x] of Object.entries(v as object)) if (x !== undefined) out[k] = toJsonTagged(x);
  return out;
}

export function fromJsonTagged(v: Json): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(fromJsonTagged);
  const keys = Object.keys(v);
  if (keys.length === 1) {
    const [k] = keys;
    const x = v[k!];
    if (k === '$big' && typeof x === 'string') return BigInt(x);
    if (k === '$num' && typeof x === 'string') return x === '-0' ? -0 : Number(x);
    if (k === '$bytes' && typeof x === 'string') return new Uint8Array(Buffer.from(x, 'base64'));
    if (k === '$date' && typeof x === 'string') return new Date(x);
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = fromJsonTagged(x as Json);
  return out;
}
