/**
 * hyparquet-writer writes a text column whose values are mostly distinct (ids, emails, notes)
 * PLAIN, turning each string into bytes with `TextEncoder.encode`: one new ArrayBuffer per value,
 * ~380 ms of W5's 5.4 s of CPU plus the collection of ~3.5M buffers. `Buffer.from` writes small
 * strings into Node's shared pool instead (2.7x faster on 3.5M strings, measured with the
 * collector's share). The writer takes Uint8Array values of a UTF8 column as they are.
 *
 * Which columns: those the writer's own dictionary check would reject from its sample (distinct
 * values over 90% of the sampled bytes; hyparquet-writer's src/dictionary.js). Those go PLAIN
 * anyway, so the file is the same (W5's output is byte for byte), except that a column of
 * non-ASCII text longer than a page (1 MiB) is cut into pages by its bytes, where the writer
 * counts a string's UTF-16 units; other columns keep their strings and their dictionary.
 */

const SAMPLE = 1000;
const REJECT_RATIO = 0.9;
// Each BYTE_ARRAY value is stored with a 4-byte length.
const LENGTH_PREFIX = 4;

/** True when `values` (a text column's row group) would be written PLAIN: see the file comment. */
export function mostlyDistinct(values: readonly unknown[]): boolean {
  const n = Math.min(values.length, SAMPLE);
  const seen = new Set<unknown>();
  let distinct = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = values[n === 1 ? 0 : Math.floor((i * (values.length - 1)) / (n - 1))];
    if (v === null || v === undefined) continue;
    // The writer estimates a string's size by its length in UTF-16 units; so does this.
    const size = (v as string).length + LENGTH_PREFIX;
    total += size;
    if (!seen.has(v)) {
      seen.add(v);
      distinct += size;
    }
  }
  return total === 0 || distinct / total > REJECT_RATIO;
}

/** Replaces each string of `values` by its UTF-8 bytes, in place. */
export function encodeStrings(values: unknown[]): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'string') values[i] = Buffer.from(v);
  }
}
