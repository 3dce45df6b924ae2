import { asBuffer } from '../shared/line-cut.ts';

const LF = 10;
const CR = 13;

/**
 * Finds record boundaries in CSV bytes exactly where CsvParser (in LF mode) ends records: at a
 * line feed outside quoted fields. As in the parser, a quote opens a quoted field only at a
 * field's start (after a delimiter or a line feed); anywhere else it is an ordinary character, so
 * counting quotes alone would lose track at the first stray one. Inside a quoted field a doubled
 * quote stands for itself. Unless `lenientQuotes`, a closing quote followed by anything but a
 * delimiter or a line end makes the record malformed, and the parser resumes on the line after
 * the one the field opened on: so does the cutter. Only quotes are visited one by one; the line
 * feeds between them are found with lastIndexOf, so a chunk with few quotes costs a few memchr calls.
 *
 * The state (inside a quoted field or not) carries from one call to the next; every buffer starts
 * at a record boundary, so position 0 is a field's start, and at the last boundary returned.
 */
export class CsvCutter {
  readonly #quote: number;
  readonly #delimiter: number;
  readonly #lenient: boolean;
  #quoted = false;
  /** Where the open quoted field's quote is in the buffer (the next one starts #shift later). */
  #open = -1;
  #shift = 0;
  #skip: number;

  /** `skip`: the first buffer begins with one whole record of that many bytes, already parsed. */
  constructor(quote: string, delimiter: string, skip = 0, lenientQuotes = false) {
    this.#quote = quote.charCodeAt(0);
    this.#delimiter = delimiter.charCodeAt(0);
    this.#skip = skip;
    this.#lenient = lenientQuotes;
  }

  /** The index after the last boundary in `b` from `from` on (-1 if none), and how far it scanned. */
  cut(bytes: Uint8Array, from: number): { boundary: number; scanned: number } {
    const b = asBuffer(bytes);
    const n = b.length;
    const q = this.#quote;
    let boundary = -1;
    let p = from;
    this.#open -= this.#shift;
    this.#shift = 0;
    const done = (scanned: number) => {
      if (boundary > 0) this.#shift = boundary;
      return { boundary, scanned };
    };
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
        if (k === -1) return done(n);
        // A quote as the last byte may be the first of a doubled pair: decide when more arrives.
        if (k + 1 === n) return done(k);
        const after = b[k + 1];
        if (after === q) {
          p = k + 2;
          continue;
        }
        if (this.#lenient || after === this.#delimiter || after === LF) {
          this.#quoted = false;
          p = k + 1;
          continue;
        }
        // CR ends the field only as half of CRLF.
        if (after === CR && k + 2 === n) return done(k);
        if (after === CR && b[k + 2] === LF) {
          this.#quoted = false;
          p = k + 1;
          continue;
        }
        // Text after the closing quote: the record ends with the line the field opened on.
        const eol = b.indexOf(LF, this.#open);
        if (eol === -1) return done(k);
        this.#quoted = false;
        boundary = eol + 1;
        p = eol + 1;
        continue;
      }
      const k = b.indexOf(q, p);
      const stop = k === -1 ? n : k;
      if (stop > p) {
        const nl = b.lastIndexOf(LF, stop - 1);
        if (nl >= p) boundary = nl + 1;
      }
      if (k === -1) return done(n);
      const before = k === 0 ? LF : b[k - 1];
      if (before === this.#delimiter || before === LF) {
        this.#quoted = true;
        this.#open = k;
      }
      p = k + 1;
    }
    return done(p);
  }
}
