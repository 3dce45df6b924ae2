/**
 * Bytes appended into large slabs and handed out as views. Subclasses write into `slab` at `pos`
 * after `reserve`; a view handed out by `take` is never written again (a full slab is replaced,
 * not reused), so it can wait in a write queue without a copy.
 */
export class ByteWriter {
  protected slab: Buffer = Buffer.alloc(0);
  protected pos = 0;
  #start = 0;

  /** Appends text as UTF-8 (a lone surrogate becomes U+FFFD, as Buffer.from does). */
  text(s: string): void {
    this.reserve(s.length * 3);
    this.pos += this.slab.write(s, this.pos);
  }

  /** Appends bytes as they are. */
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.slab.set(b, this.pos);
    this.pos += b.length;
  }

  /** Appends one ASCII byte (a newline, a comma). */
  byte(b: number): void {
    this.reserve(1);
    this.slab[this.pos++] = b;
  }

  /** The bytes appended since the last call. */
  take(): Buffer {
    const out = this.slab.subarray(this.#start, this.pos);
    this.#start = this.pos;
    return out;
  }

  /**
   * The bytes taken so far are no longer used (their reader copied them): the next ones go over
   * them, in the same slab, instead of filling new slabs that become garbage outside V8's heap.
   */
  reuse(): void {
    if (this.#start === this.pos) {
      this.#start = 0;
      this.pos = 0;
    }
  }

  /** Where the next byte goes, for `rewind`; relative, as a full slab moves what is not taken. */
  mark(): number {
    return this.pos - this.#start;
  }

  /** Drops what was appended since `mark`. */
  rewind(mark: number): void {
    this.pos = this.#start + mark;
  }

  protected reserve(bytes: number): void {
    if (this.pos + bytes <= this.slab.length) return;
    const pending = this.pos - this.#start;
    const next = Buffer.allocUnsafe(Math.max(SLAB_BYTES, 2 * (pending + bytes)));
    this.slab.copy(next, 0, this.#start, this.pos);
    this.slab = next;
    this.#start = 0;
    this.pos = pending;
  }
}

const SLAB_BYTES = 1 << 20;

// Longer than any number String() writes (-0.0000012345678901234567 is 25 characters).
export const MAX_NUMBER_BYTES = 32;

/**
 * Writes a finite number as String() does (and so as JSON does). String() cost ~90 ns a number
 * (measured); integers and values with at most two decimals, the usual amounts, are written
 * from their digits instead. `x / 100 === v` proves the two-decimal text reads back as v, and no
 * shorter text can (it would be another multiple of 0.01, a different double below 2^53 / 100),
 * so it is the shortest round-trip text String() gives.
 */
export function writeNumber(b: Uint8Array, p: number, v: number): number {
  if (Number.isInteger(v) && v > -1e15 && v < 1e15) return writeDigits(b, p, v, 0);
  if (v > -1e13 && v < 1e13) {
    const x = Math.round(v * 100);
    if (x / 100 === v) return writeDigits(b, p, x, x % 10 === 0 ? 1 : 2);
  }
  const text = String(v);
  for (let i = 0; i < text.length; i++) b[p++] = text.charCodeAt(i);
  return p;
}

/** Writes x / 10^decimals for an integer x (decimals 0–2; a 1 means x's last digit is 0). */
function writeDigits(b: Uint8Array, p: number, x: number, decimals: number): number {
  let y = x;
  // -0 fails this test and is written as 0, as String(-0) is.
  if (y < 0) {
    b[p++] = 0x2d;
    y = -y;
  }
  if (decimals === 1) y /= 10;
  // Below 2^31 the digits come from int32 division, which compiles to a multiply (measured ~2x
  // faster than the double division larger values need).
  const small = y <= 0x7fffffff;
  let len = 1;
  if (small) for (let t = y | 0; t >= 10; t = (t / 10) | 0) len++;
  else for (let t = y; t >= 10; t /= 10) len++;
  if (len <= decimals) len = decimals + 1;
  const end = decimals > 0 ? p + len + 1 : p + len;
  let q = end;
  let t = small ? y | 0 : y;
  for (let i = 0; i <= len; i++) {
    if (i === decimals && decimals > 0) b[--q] = 0x2e;
    if (q === p) break;
    const next = small ? (t / 10) | 0 : Math.floor(t / 10);
    b[--q] = 0x30 + (t - next * 10);
    t = next;
  }
  return end;
}

/**
 * Writes the UTF-8 of the non-ASCII unit `c` = s[i], taking s[i + 1] with it when the two form a
 * surrogate pair (the caller then skips it); returns the end, or -1 for a lone surrogate, which
 * each format writes its own way. Needs 4 bytes of room.
 */
export function writeUtf8(b: Uint8Array, p: number, s: string, i: number, c: number): number {
  if (c < 0x800) {
    b[p++] = 0xc0 | (c >> 6);
    b[p++] = 0x80 | (c & 0x3f);
    return p;
  }
  if (c < 0xd800 || c > 0xdfff) {
    b[p++] = 0xe0 | (c >> 12);
    b[p++] = 0x80 | ((c >> 6) & 0x3f);
    b[p++] = 0x80 | (c & 0x3f);
    return p;
  }
  const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
  if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) return -1;
  const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  b[p++] = 0xf0 | (cp >> 18);
  b[p++] = 0x80 | ((cp >> 12) & 0x3f);
  b[p++] = 0x80 | ((cp >> 6) & 0x3f);
  b[p++] = 0x80 | (cp & 0x3f);
  return p;
}
