import { describe, expect, it } from 'vitest';
import { LogLines } from './log-lines.ts';

function split(chunks: (string | Buffer)[], maxChars = 10): string[] {
  const out: string[] = [];
  const lines = new LogLines(maxChars, (l) => out.push(l));
  for (const c of chunks) lines.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  lines.end();
  return out;
}

describe('LogLines', () => {
  it('splits lines across chunks, drops CR before LF and keeps a last line without LF', () => {
    expect(split(['a\nbc', 'd\r', '\n\ne\r\nf'])).toEqual(['a', 'bcd', '', 'e', 'f']);
    expect(split(['a\n'])).toEqual(['a']);
  });

  it('cuts a long line after maxChars characters and counts the bytes left out', () => {
    expect(split(['0123456789ab\n', 'x'.repeat(25), 'y'.repeat(25), '\r\nok'])).toEqual([
      '0123456789… [truncated 2 bytes]',
      'xxxxxxxxxx… [truncated 40 bytes]',
      'ok',
    ]);
    expect(split(['z'.repeat(1_234_567)], 3)).toEqual(['zzz… [truncated 1,234,564 bytes]']);
  });

  it('never splits a character, even one cut between chunks', () => {
    const text = Buffer.from(`${'é'.repeat(9)}🚚🚚🚚\n`);
    const chunks = [...text].map((b) => Buffer.from([b]));
    // 9 é and the first half of a 🚚 make 10 UTF-16 units: the pair is not cut in two.
    expect(split(chunks)).toEqual([`${'é'.repeat(9)}… [truncated 12 bytes]`]);
    expect(split([`${'é'.repeat(10)}\n`])).toEqual(['é'.repeat(10)]);
  });
});
