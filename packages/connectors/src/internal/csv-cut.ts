import { asBuffer } from './line-cut.ts';

const LF = 10;

/**
 * Finds record boundaries in CSV bytes exactly where CsvParser (in LF mode) ends records: at a
 * line feed outside quoted fields. As in the parser, a quote opens a quoted field only at a
 * field's start (after a delimiter or a line feed); anywhere else it is an ordinary character, so
 * counting quotes alone would lose track at the first stray one. Inside a quoted field a doubled
 * quote stands for itself. Only quotes are visited one by one; the line feeds between them are
 * found with lastIndexOf, so a chunk with few quotes costs a few memchr calls.
 *
 * The state (inside a quoted field or not) carries from one call to the next; every buffer starts
 * at a record boundary, so position 0 is a field's start.
 */
export class CsvCutter {
  readonly #quote: number;
  readonly #delimiter: number;
  #quoted = false;
  #skip: number;

  /** `skip`: the first buffer begins with one whole record of that many bytes, already parsed. */
  constructor(quote: string, delimiter: string, skip = 0) {
    this.#quote = quote.charCodeAt(0);
    this.#delimiter = delimiter.charCodeAt(0);
    this.#skip = skip;
  }

  /** The index after the last boundary in `b` from `from` on (-1 if none), and how far it scanned. */
  cut(bytes: Uint8Array, from: number): { boundary: number; scanned: number } {
    const b = asBuffer(bytes);
    const n = b.length;
    const q = this.#quote;
    let boundary = -1;
    let p = from;
    if (this.#skip > 0) {
      // A BOM before that first record would hide that its first quote opens a field.
      if (n < this.#skip) return { boundary: -1, scanned: 0 };
      boundary = this.#skip;
      p = Math.max(p, boundary);
      this.#skip = 0;
    }
    while (p < n) {
      if (this.#quoted) {
        const k = b.indexOf(q, p);
        if (k === -1) return { boundary, scanned: n };
        // A quote as the last byte may be the first of a doubled pair: decide when more arrives.
        if (k + 1 === n) return { boundary, scanned: k };
        if (b[k + 1] === q) p = k + 2;
        else {
          this.#quoted = false;
          p = k + 1;
        }
        continue;
      }
      const k = b.indexOf(q, p);
      const stop = k === -1 ? n : k;
      if (stop > p) {
        const nl = b.lastIndexOf(LF, stop - 1);
        if (nl >= p) boundary = nl + 1;
      }
      if (k === -1) return { boundary, scanned: n };
      const before = k === 0 ? LF : b[k - 1];
      if (before === this.#delimiter || before === LF) this.#quoted = true;
      p = k + 1;
    }
    return { boundary, scanned: p };
  }
}
