import { writeUtf8 } from './byte-writer.ts';

/**
 * What PostgreSQL's COPY text format and MySQL's LOAD DATA (with its default ESCAPED BY '\\')
 * share: fields separated by tabs, rows by line feeds, and backslash escapes for a backslash,
 * a line feed, a carriage return and a tab inside a value.
 */

/**
 * Writes `s` escaped as UTF-8 at `p` (room for 3 bytes a unit reserved); returns the end, or -1
 * at a NUL when `nul` is false (PostgreSQL cannot store one; MySQL takes it as `\0`). A lone
 * surrogate becomes U+FFFD, as it does when the text is encoded with Buffer.from.
 */
export function writeTabText(b: Uint8Array, p: number, s: string, nul: boolean): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x5c) b[p++] = c;
      else if (c === 0 && !nul) return -1;
      else {
        const e =
          c === 0x5c ? 0x5c : c === 0x0a ? 0x6e : c === 0x0d ? 0x72 : c === 0x09 ? 0x74 : c === 0 ? 0x30 : -1;
        if (e >= 0) b[p++] = 0x5c;
        b[p++] = e >= 0 ? e : c;
      }
    } else {
      const q = writeUtf8(b, p, s, i, c);
      if (q < 0) {
        b[p++] = 0xef;
        b[p++] = 0xbf;
        b[p++] = 0xbd;
      } else {
        if (c >= 0xd800 && c <= 0xdbff) i++;
        p = q;
      }
    }
  }
  return p;
}
