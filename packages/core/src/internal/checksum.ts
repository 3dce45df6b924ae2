import type { Row } from '../connector.ts';

/**
 * An order-independent checksum of a multiset of rows: the sum, modulo 2^64, of a 64-bit hash
 * of each row. Two runs that emit the same rows in any order (or batching) agree; a changed,
 * lost or duplicated row changes it. A row's hash does not depend on key order either: each
 * field contributes hash(key, value) and the contributions are summed.
 *
 * 64 bits are kept as two 32-bit halves from two differently seeded FNV-1a style hashes;
 * Math.imul keeps every step in int32, which V8 runs without boxing.
 */
export class Checksum {
  #lo = 0;
  #hi = 0;

  addRows(rows: readonly Row[]): void {
    let lo = this.#lo;
    let hi = this.#hi;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      let rlo = 0x2545f491;
      let rhi = 0x6c62272e;
      for (const key in row) {
        const v = row[key];
        const k1 = hashString(key, 0x811c9dc5);
        const fl = hashValue(v, k1);
        const fh = hashValue(v, Math.imul(k1 ^ 0x5bd1e995, 0x01000193));
        rlo = (rlo + fmix(fl)) | 0;
        rhi = (rhi + fmix(fh ^ 0x9e3779b9)) | 0;
      }
      // Carry from the low half into the high half makes this a true 64-bit sum.
      const nlo = (lo >>> 0) + (fmix(rlo) >>> 0);
      lo = nlo | 0;
      hi = (hi + fmix(rhi) + (nlo > 0xffffffff ? 1 : 0)) | 0;
    }
    this.#lo = lo;
    this.#hi = hi;
  }

  /** Adds another checksum (the union of two row multisets). */
  merge(other: Checksum | string): void {
    const o = typeof other === 'string' ? Checksum.from(other) : other;
    const nlo = (this.#lo >>> 0) + (o.#lo >>> 0);
    this.#lo = nlo | 0;
    this.#hi = (this.#hi + o.#hi + (nlo > 0xffffffff ? 1 : 0)) | 0;
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

function fmix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}

function hashString(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

// Each type gets its own tag so that 1, "1", true and null all hash differently.
function hashValue(v: unknown, seed: number): number {
  switch (typeof v) {
    case 'string':
      return hashString(v, seed ^ 0x73);
    case 'number':
      f64[0] = v;
      return Math.imul(Math.imul(seed ^ 0x6e ^ u32[0]!, 0x01000193) ^ u32[1]!, 0x01000193);
    case 'boolean':
      return Math.imul(seed ^ (v ? 0x74 : 0x66), 0x01000193);
    case 'bigint':
      return hashString(v.toString(), seed ^ 0x62);
    case 'undefined':
      return Math.imul(seed ^ 0x75, 0x01000193);
    default:
      if (v === null) return Math.imul(seed ^ 0x30, 0x01000193);
      if (v instanceof Date) return hashValue(v.getTime(), seed ^ 0x64);
      return hashString(JSON.stringify(v) ?? '', seed ^ 0x6f);
  }
}
