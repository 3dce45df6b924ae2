/**
 * A row group's text column, held as UTF-8 bytes in one growing buffer with each value's end,
 * not as the rows' strings. Strings held for a whole row group outlive V8's young generation and
 * are copied by every scavenge until promoted; a CSV field is moreover a slice that keeps its
 * whole decoded chunk alive. Measured: CSV → Parquet spent ~0.8 s in scavenges against ~0.1 s
 * for CSV → NDJSON (`--trace-gc`, 1M rows).
 *
 * At the row group's end the values go to hyparquet-writer in the form it writes fastest:
 * - a column whose values are mostly distinct (ids, emails, free text), which the writer's own
 *   dictionary check rejects from its sample (distinct values over 90% of the sampled bytes;
 *   hyparquet-writer's src/dictionary.js), as views of the bytes, written PLAIN: the writer
 *   would otherwise encode each string into a new buffer with `TextEncoder` (~380 ms of W5);
 * - any other column as strings again, for the writer's dictionary.
 * The file is the same as from the strings (W5's output is, byte for byte), except that a
 * PLAIN column of non-ASCII text longer than a page (1 MiB) is cut into pages by its bytes, where
 * the writer counts a string's UTF-16 units, and that lone surrogates (written as U+FFFD either
 * way) share one dictionary entry.
 */
export class TextColumn {
  #bytes = Buffer.allocUnsafe(1 << 16);
  #used = 0;
  /** Where each value ends in #bytes; -1 for a null. */
  #ends = new Int32Array(1024);
  #count = 0;

  push(v: string | null | undefined): void {
    if (this.#count === this.#ends.length) {
      const ends = new Int32Array(this.#ends.length * 2);
      ends.set(this.#ends);
      this.#ends = ends;
    }
    if (v === null || v === undefined) {
      this.#ends[this.#count++] = -1;
      return;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    const need = this.#used + v.length * 3;
    if (need > this.#bytes.length) {
      const bytes = Buffer.allocUnsafe(Math.max(need, this.#bytes.length * 2));
      this.#bytes.copy(bytes, 0, 0, this.#used);
      this.#bytes = bytes;
    }
    this.#used += this.#bytes.write(v, this.#used);
    this.#ends[this.#count++] = this.#used;
  }

  /** The values for the writer, and whether to write them PLAIN (see the class comment). */
  values(): { data: (Uint8Array | string | null)[]; plain: boolean } {
    const n = this.#count;
    const plain = mostlyDistinct(n, (i) => this.#text(i));
    const data = new Array<Uint8Array | string | null>(n);
    const bytes = this.#bytes;
    const ends = this.#ends;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const end = ends[i]!;
      if (end < 0) {
        data[i] = null;
        continue;
      }
      data[i] = plain
        ? new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start)
        : bytes.toString('utf8', start, end);
      start = end;
    }
    return { data, plain };
  }

  #text(i: number): string | null {
    const end = this.#ends[i]!;
    if (end < 0) return null;
    let j = i - 1;
    while (j >= 0 && this.#ends[j]! < 0) j--;
    return this.#bytes.toString('utf8', j < 0 ? 0 : this.#ends[j]!, end);
  }
}

const SAMPLE = 1000;
const REJECT_RATIO = 0.9;
// Each BYTE_ARRAY value is stored with a 4-byte length.
const LENGTH_PREFIX = 4;

/**
 * Whether the writer's sample check rejects a dictionary for the `n` values `at` reads, sampled
 * as the writer samples them.
 */
export function mostlyDistinct(n: number, at: (i: number) => string | null): boolean {
  const size = Math.min(n, SAMPLE);
  const seen = new Set<string>();
  let distinct = 0;
  let total = 0;
  for (let i = 0; i < size; i++) {
    const v = at(size === 1 ? 0 : Math.floor((i * (n - 1)) / (size - 1)));
    if (v === null) continue;
    // The writer estimates a string's size by its length in UTF-16 units; so does this.
    const bytes = v.length + LENGTH_PREFIX;
    total += bytes;
    if (!seen.has(v)) {
      seen.add(v);
      distinct += bytes;
    }
  }
  return total === 0 || distinct / total > REJECT_RATIO;
}
