const LF = 10;

/** The bytes as a Buffer without copying: Buffer's indexOf is a memchr, a Uint8Array's is not. */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** Line feeds in `chunk`: how many lines it spans, for every line-numbered format we read. */
export function countLines(chunk: Uint8Array): number {
  const b = asBuffer(chunk);
  let n = 0;
  for (let i = b.indexOf(LF); i !== -1; i = b.indexOf(LF, i + 1)) n++;
  return n;
}

/** A cutter for formats where every line feed ends a record (NDJSON): the last one in the bytes. */
export function cutAtLastLine(b: Uint8Array, from: number): { boundary: number; scanned: number } {
  const nl = b.length > from ? asBuffer(b).lastIndexOf(LF, b.length - 1) : -1;
  return { boundary: nl >= from ? nl + 1 : -1, scanned: b.length };
}
