import { describe, expect, it } from 'vitest';
import { arrayLiteral, CopyEncoder, copyField, encodeCopyText } from './copy.ts';

describe('COPY text encoding', () => {
  it('escapes the characters COPY treats specially', () => {
    expect(copyField('a\tb\nc\rd\\e', false)).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyField('plain', false)).toBe('plain');
    expect(copyField('', false)).toBe('');
  });

  it('encodes nulls, numbers, booleans, dates, bytes and objects', () => {
    expect(copyField(null, false)).toBe('\\N');
    expect(copyField(undefined, false)).toBe('\\N');
    expect(copyField(1.5, false)).toBe('1.5');
    expect(copyField(Number.NaN, false)).toBe('NaN');
    expect(copyField(-Infinity, false)).toBe('-Infinity');
    expect(copyField(12345678901234567890n, false)).toBe('12345678901234567890');
    expect(copyField(true, false)).toBe('true');
    expect(copyField(false, false)).toBe('false');
    expect(copyField(new Date('2024-01-02T03:04:05Z'), false)).toBe('2024-01-02T03:04:05.000Z');
    expect(copyField(Buffer.from([1, 171]), false)).toBe('\\\\x01ab');
    expect(copyField({ a: 'x\ny' }, false)).toBe('{"a":"x\\\\ny"}');
    expect(copyField([1, 2], false)).toBe('[1,2]');
  });

  it('writes JS arrays as array literals for array columns', () => {
    expect(arrayLiteral(['a', 'b,c', 'd"e', null, ['x']])).toBe('{"a","b,c","d\\"e",NULL,{"x"}}');
    expect(copyField(['a\\b'], true)).toBe('{"a\\\\\\\\b"}');
  });

  it('joins rows with tabs and newlines, in column order, for a range of rows', () => {
    const rows = [
      { a: 1, b: 'x' },
      { b: 'y', a: 2 },
      { a: 3, b: null },
    ];
    expect(encodeCopyText(rows, ['b', 'a'])).toEqual({ text: 'x\t1\ny\t2\n\\N\t3\n', rows: 3, rejected: [] });
    expect(encodeCopyText(rows, ['a'], [], 1, 3).text).toBe('2\n3\n');
  });

  it('leaves out rows PostgreSQL cannot store, with the field and reason', () => {
    const rows = [
      { a: 'ok' },
      { a: 'nul\u0000' },
      { a: new Date(Number.NaN) },
      { a: () => 1 },
      { a: 'fine' },
    ];
    const out = encodeCopyText(rows, ['a']);
    expect(out.text).toBe('ok\nfine\n');
    expect(out.rows).toBe(2);
    expect(out.rejected.map((r) => r.index)).toEqual([1, 2, 3]);
    expect(out.rejected[0]!.reason).toBe(
      'field "a" contains a NUL character (U+0000), which PostgreSQL cannot store',
    );
    expect(out.rejected[1]!.reason).toBe('field "a" is an invalid Date');
    expect(out.rejected[2]!.reason).toMatch(/is a function/);
  });

  it('writes the bytes the text form had, for any character', () => {
    const values = [
      'a\\b\tc\nd\re',
      '\u0001\u001f\u007f',
      'é日本🚚',
      'lone \ud800 x',
      '\udc00',
      'end \ud83d',
      '',
      'plain',
    ];
    const rows = values.map((v, i) => ({ v, n: i * 1.25, b: i % 2 === 0, z: null, d: new Date(i) }));
    const columns = ['v', 'n', 'b', 'z', 'd'];
    const expected = rows.map(
      (r) => `${columns.map((c) => copyField(r[c as keyof typeof r], false)).join('\t')}\n`,
    );
    expect(new CopyEncoder().encode(rows, columns).data).toEqual(Buffer.from(expected.join('')));
  });
});

describe('COPY values a review found to fail the whole COPY', () => {
  it('writes booleans as true/false (jsonb and text columns read them so), and sets aside a NUL in JSON and far dates', () => {
    expect(encodeCopyText([{ b: true, d: { ok: false } }], ['b', 'd']).text).toBe('true\t{"ok":false}\n');
    const out = encodeCopyText(
      [
        { d: { a: 'x\u0000y' } },
        { d: { a: 'back\\u0000slash' } },
        { d: new Date('+010000-01-01T00:00:00Z') },
      ],
      ['d'],
    );
    expect(out.rejected.map((r) => r.index)).toEqual([0, 2]);
    expect(out.rejected[0]!.reason).toMatch(/NUL/);
    expect(out.rejected[1]!.reason).toMatch(/year 10000/);
    // An escaped backslash before u0000 is text, not a NUL: that row is written.
    expect(out.rows).toBe(1);
  });
});
