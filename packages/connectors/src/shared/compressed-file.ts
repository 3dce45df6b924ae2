import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { digestFile, RecordDigest, type RecordSyntax } from '@sluice/core';
import { type Codec, decompress, decompressSmall, MAGIC } from './compression.ts';

/**
 * What a file sink reads back from its own output, compressed or not: `digestFile` over the
 * text. A compressed file is read through its decompressor, so counts and checksums are over the
 * same bytes as for a plain file; `limit` counts bytes of the file (a gzip member or zstd frame
 * boundary, as the sink only records those).
 */
export async function digestOutput(
  path: string,
  codec: Codec | undefined,
  syntax: RecordSyntax,
  hash: boolean,
  limit = Number.POSITIVE_INFINITY,
  end = true,
): Promise<RecordDigest> {
  if (codec === undefined) return digestFile(path, syntax, hash, limit, end);
  const digest = new RecordDigest(syntax, hash);
  for await (const chunk of text(path, codec, limit)) digest.feed(chunk);
  if (end) digest.end();
  return digest;
}

/** The first `length` bytes of the (decompressed) text of `path`, or fewer if it is shorter. */
export async function textHead(path: string, codec: Codec, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let have = 0;
  // Leaving the loop early closes the decompressor and the file.
  for await (const chunk of text(path, codec, Number.POSITIVE_INFINITY)) {
    parts.push(chunk);
    have += chunk.length;
    if (have >= length) break;
  }
  return Buffer.concat(parts).subarray(0, length);
}

function text(path: string, codec: Codec, limit: number): AsyncIterable<Buffer> {
  const end = Number.isFinite(limit) ? limit - 1 : undefined;
  // An empty range (limit 0) is an empty file, not createReadStream's "to the end".
  const raw = limit <= 0 ? [] : createReadStream(path, { end, highWaterMark: 1 << 20 });
  return decompress(raw as AsyncIterable<Buffer>, codec, path, true);
}

// A gzip member holding a few bytes takes about 25 bytes, a zstd frame about 15.
const TRAILER_SEARCH = 128;

/**
 * Where the member or frame that holds exactly `trailer` starts, when it is the last of a file
 * of `size` bytes (the json sink writes its closing `]` so, to let a replay append after it);
 * undefined when the file does not end that way. Tries the starts nearest the end first, so a
 * start inside an earlier member never decodes as a whole.
 */
export async function trailerFrameStart(
  path: string,
  size: number,
  codec: Codec,
  trailer: string,
): Promise<number | undefined> {
  const want = Buffer.from(trailer);
  const from = Math.max(0, size - TRAILER_SEARCH);
  const tail = Buffer.alloc(size - from);
  const fh = await open(path, 'r');
  try {
    await fh.read(tail, 0, tail.length, from);
  } finally {
    await fh.close();
  }
  for (
    let k = tail.lastIndexOf(MAGIC[codec]);
    k >= 0;
    k = k > 0 ? tail.lastIndexOf(MAGIC[codec], k - 1) : -1
  ) {
    const decoded = await decompressSmall(codec, tail.subarray(k)).catch(() => undefined);
    if (decoded?.equals(want)) return from + k;
  }
  return undefined;
}
