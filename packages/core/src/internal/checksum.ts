import type { Row } from '../connector.ts';

/**
 * An order-independent checksum of a multiset of rows: the sum, modulo 2^64, of a 64-bit hash
 * of each row. Two runs that emit the same rows in any order or batching agree; a changed, lost
 * or duplicated row changes it. A row's hash covers its field names and values, in field order.
 *
 * Measured: hashing dominated a 1M-row flow (7 s of 13) when every field hashed its name and
 * its value twice. Now each character is visited once, feeding two independent 32-bit lanes
 * (FNV-1a and a Fletcher-style running sum), and field names are hashed only when a row's
 * shape differs from the previous row's (rows of one stage share their key strings, so the
 * comparison is by reference).
 */
export class Checksum {
  #lo = 0;
  #hi = 0;
  #keys: string[] = [];
  #shape = 0;

  /** Adds `rows`. */
  addRows(rows: readonly Row[]): void {
    let lo = this.#lo;
    let hi = this.#hi;
    for (let i = 0; i < rows.length; i++) {
      this.#hashRow(rows[i]!);
      const rlo = this.#rlo;
      // Carry from the low half into the high half makes this a true 64-bit sum.
      const nlo = (lo >>> 0) + (rlo >>> 0);
      lo = nlo | 0;
      hi = (hi + this.#rhi + (nlo > 0xffffffff ? 1 : 0)) | 0;
    }
    this.#lo = lo;
    this.#hi = hi;
  }

  #rlo = 0;
  #rhi = 0;

  #hashRow(row: Row): void {
    let h = 0x811c9dc5;
    let a = 1;
    let b = 0;
    let n = 0;
    let sameShape = true;
    const keys = this.#keys;
    for (const key in row) {
      if (sameShape && keys[n] !== key) sameShape = false;
      n++;
      const v = row[key];
      // Separator and type tag: "ab","c" ≠ "a","bc" and 1 ≠ "1" ≠ true.
      if (typeof v === 'string') {
        h = Math.imul(h ^ 0x73, 0x01000193);
        for (let j = 0; j < v.length; j++) {
          const c = v.charCodeAt(j);
          h = Math.imul(h ^ c, 0x01000193);
          a = (a + c) | 0;
          b = (b + a) | 0;
        }
      } else {
        const t = scalarHash(v);
        h = Math.imul(h ^ t, 0x01000193);
        a = (a + t) | 0;
        b = (b + a) | 0;
      }
      a = (a + 0x1f) | 0;
      b = (b + a) | 0;
    }
    if (!sameShape || n !== keys.length) this.#reshape(row);
    this.#rlo = fmix(h ^ this.#shape);
    this.#rhi = fmix((b ^ Math.imul(a, 0x9e3779b1)) + this.#shape);
  }

  #reshape(row: Row): void {
    const keys = Object.keys(row);
    let s = 0x2545f491;
    for (const k of keys) {
      for (let j = 0; j < k.length; j++) s = Math.imul(s ^ k.charCodeAt(j), 0x01000193);
      s = Math.imul(s ^ 0x2c, 0x01000193);
    }
    this.#keys = keys;
    this.#shape = s;
  }

  /**
   * Adds the rows another checksum covers (its `toString`): the sum over a union of multisets is
   * the sum of their sums, which is how chunks checksummed in worker threads combine.
   */
  plus(hex: string): void {
    const hi = Number.parseInt(hex.slice(0, 8), 16) | 0;
    const lo = Number.parseInt(hex.slice(8, 16), 16) | 0;
    const nlo = (this.#lo >>> 0) + (lo >>> 0);
    this.#lo = nlo | 0;
    this.#hi = (this.#hi + hi + (nlo > 0xffffffff ? 1 : 0)) | 0;
  }

  toString(): string {
    return (this.#hi >>> 0).toString(16).padStart(8, '0') + (this.#lo >>> 0).toString(16).padStart(8, '0');
  }

  static from(hex: string): Checksum {
    const c = new Checksum();
    c.#hi = Number.parseInt(hex.slice(0, 8), 16) | 0;
    c.#lo = Number.parseInt(hex.slice(8, 16), 16) | 0;
    return c;
  }
}

/** Murmur3's finaliser: spreads every input bit over the 32-bit result. */
export function fmix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function scalarHash(v: unknown): number {
  switch (typeof v) {
    case 'number':
      f64[0] = v;
      return Math.imul(u32[0]! ^ 0x6e, 0x01000193) ^ u32[1]!;
    case 'boolean':
      return v ? 0x74727565 : 0x66616c73;
    case 'undefined':
      return 0x756e6466;
    case 'bigint':
      return stringHash(v.toString()) ^ 0x62;
    default:
      if (v === null) return 0x6e756c6c;
      if (v instanceof Date) return Math.imul(scalarHash(v.getTime()), 0x01000193) ^ 0x64;
      return stringHash(JSON.stringify(v) ?? '') ^ 0x6f;
  }
}

function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}
