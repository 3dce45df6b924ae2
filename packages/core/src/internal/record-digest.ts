import { open } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import { fmix } from './checksum.ts';

/**
 * How records are told apart in a file's bytes: `lines` ends each at a line feed (NDJSON and the
 * json sink's one object per line: JSON text never holds a raw line feed); `csv` does too, but not
 * inside double quotes (RFC 4180 fields may hold line breaks).
 */
export type RecordSyntax = 'lines' | 'csv';

/** A RecordDigest's state, kept with a file sink's checkpoint so a resumed run continues it. */
export const DigestState = Type.Object({
  records: Type.Integer({ minimum: 0 }),
  /** The sum so far, 16 hex digits. */
  sum: Type.String({ pattern: '^[0-9a-f]{16}$' }),
  /** The record in progress: bytes seen, its two hash lanes, whether inside quotes. */
  open: Type.Tuple([Type.Integer(), Type.Integer(), Type.Integer(), Type.Integer(), Type.Boolean()]),
});
export type DigestState = {
  records: number;
  sum: string;
  open: [number, number, number, number, boolean];
};

const LF = 0x0a;
const QUOTE = 0x22;

/**
 * Counts the records in a stream of bytes and, when hashing, sums a 64-bit hash of each record's
 * bytes (terminator included) modulo 2^64: an order-independent checksum of the multiset of
 * records. The same class digests what a file sink writes and what it reads back, so both sides
 * agree by construction. Bytes arrive in pieces cut anywhere, even inside a multi-byte character.
 *
 * Counting alone skips over bytes with indexOf (native) between line feeds and quotes; hashing
 * then visits each byte once more, feeding two 32-bit lanes (FNV-1a and a Fletcher-style sum), as
 * the engine's row checksum does.
 */
export class RecordDigest {
  readonly #csv: boolean;
  readonly #hash: boolean;
  records = 0;
  #lo = 0;
  #hi = 0;
  // The record in progress.
  #bytes = 0;
  #h = 0x811c9dc5;
  #a = 1;
  #b = 0;
  #quoted = false;

  constructor(syntax: RecordSyntax, hash: boolean, state?: DigestState) {
    this.#csv = syntax === 'csv';
    this.#hash = hash;
    if (state) {
      this.records = state.records;
      this.#hi = Number.parseInt(state.sum.slice(0, 8), 16) | 0;
      this.#lo = Number.parseInt(state.sum.slice(8), 16) | 0;
      [this.#bytes, this.#h, this.#a, this.#b, this.#quoted] = state.open;
    }
  }

  feed(buf: Uint8Array, from = 0, to = buf.length): void {
    // Boundaries are found with indexOf (native); the next quote is looked up again only once
    // passed, so a file without quotes is scanned once. Bytes are hashed a record's run at a time
    // in a loop with no branch (measured: 5x faster than testing every byte for a boundary).
    const next = (byte: number, at: number): number => {
      const k = buf.indexOf(byte, at);
      return k === -1 || k >= to ? to : k;
    };
    let i = from;
    let q = this.#csv ? next(QUOTE, i) : to;
    while (i < to) {
      if (this.#quoted) {
        // A doubled quote inside a quoted field reads as leaving and entering again: same state.
        if (q === to) {
          this.#take(buf, i, to);
          return;
        }
        this.#quoted = false;
        this.#take(buf, i, q + 1);
        i = q + 1;
        q = next(QUOTE, i);
        continue;
      }
      const lf = next(LF, i);
      if (q < lf) {
        this.#quoted = true;
        this.#take(buf, i, q + 1);
        i = q + 1;
        q = next(QUOTE, i);
        continue;
      }
      if (lf === to) {
        this.#take(buf, i, to);
        return;
      }
      this.#take(buf, i, lf + 1);
      this.#close();
      i = lf + 1;
    }
  }

  /** Adds bytes `from`..`to` to the record in progress. */
  #take(buf: Uint8Array, from: number, to: number): void {
    this.#bytes += to - from;
    if (!this.#hash) return;
    let h = this.#h;
    let a = this.#a;
    let b = this.#b;
    for (let k = from; k < to; k++) {
      const c = buf[k]!;
      h = Math.imul(h ^ c, 0x01000193);
      a = (a + c) | 0;
      b = (b + a) | 0;
    }
    this.#h = h;
    this.#a = a;
    this.#b = b;
  }

  /** Ends the input: bytes after the last terminator make one more record. */
  end(): void {
    if (this.#bytes > 0) this.#close();
  }

  /** The checksum: 16 hex digits (when hashing). */
  get sum(): string {
    return (this.#hi >>> 0).toString(16).padStart(8, '0') + (this.#lo >>> 0).toString(16).padStart(8, '0');
  }

  state(): DigestState {
    return {
      records: this.records,
      sum: this.sum,
      open: [this.#bytes, this.#h, this.#a, this.#b, this.#quoted],
    };
  }

  #close(): void {
    this.records++;
    if (this.#hash) {
      const lo = fmix(this.#h ^ this.#bytes);
      const hi = fmix((this.#b ^ Math.imul(this.#a, 0x9e3779b1)) + this.#bytes);
      const nlo = (this.#lo >>> 0) + (lo >>> 0);
      this.#lo = nlo | 0;
      this.#hi = (this.#hi + hi + (nlo > 0xffffffff ? 1 : 0)) | 0;
    }
    this.#bytes = 0;
    this.#h = 0x811c9dc5;
    this.#a = 1;
    this.#b = 0;
    this.#quoted = false;
  }
}

/**
 * Reads `path` back through a digest of `syntax`: its records and, when hashing, their checksum.
 * `limit` stops after that many bytes; `end: false` leaves the last record open, to continue it.
 */
export async function digestFile(
  path: string,
  syntax: RecordSyntax,
  hash: boolean,
  limit = Number.POSITIVE_INFINITY,
  end = true,
): Promise<RecordDigest> {
  const digest = new RecordDigest(syntax, hash);
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let left = limit;
    while (left > 0) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, left), null);
      if (bytesRead === 0) break;
      digest.feed(buf, 0, bytesRead);
      left -= bytesRead;
    }
  } finally {
    await fh.close();
  }
  if (end) digest.end();
  return digest;
}
