import { describe, expect, it } from 'vitest';
import { Fit, limitOf, neededType, widest } from './contract.ts';

describe('schema contract checks', () => {
  it('knows which types a value can outgrow', () => {
    expect(limitOf('integer')).toEqual({ kind: 'int', rung: 1 });
    expect(limitOf('character varying(3)')).toEqual({ kind: 'varchar', length: 3 });
    for (const t of ['numeric', 'text', 'double precision', 'character varying', 'integer[]'])
      expect(limitOf(t)).toBeUndefined();
  });

  it('widens whole numbers up the ladder: smallint, integer, bigint, numeric', () => {
    const int = limitOf('integer')!;
    expect(neededType(int, 2 ** 31 - 1)).toBeUndefined();
    expect(neededType(int, -(2 ** 31))).toBeUndefined();
    expect(neededType(int, 2 ** 31)).toBe('bigint');
    expect(neededType(int, 2 ** 63)).toBe('numeric');
    expect(neededType(int, 2n ** 63n - 1n)).toBe('bigint');
    expect(neededType(int, 2n ** 63n)).toBe('numeric');
    expect(neededType(int, 1.5)).toBe('numeric');
    expect(neededType(limitOf('smallint')!, 40000)).toBe('integer');
    // Text as CSV sends it: digits are read exactly, beyond a double's precision.
    expect(neededType(int, ' 2147483648 ')).toBe('bigint');
    expect(neededType(int, '9223372036854775807')).toBe('bigint');
    expect(neededType(int, '9223372036854775808')).toBe('numeric');
    expect(neededType(int, '-12')).toBeUndefined();
    expect(neededType(int, '2.5e3')).toBe('numeric');
    // Not numbers at all: PostgreSQL's to refuse, as before.
    for (const v of ['abc', '', true, { a: 1 }, Number.NaN, null, undefined])
      expect(neededType(int, v)).toBeUndefined();
  });

  it('widens varchar(n) to text by characters, not UTF-16 units', () => {
    const v3 = limitOf('character varying(3)')!;
    expect(neededType(v3, 'abc')).toBeUndefined();
    expect(neededType(v3, '🚚🚚🚚')).toBeUndefined();
    expect(neededType(v3, 'abcd')).toBe('text');
    expect(neededType(v3, 12345)).toBe('text');
  });

  it('keeps the widest type needed', () => {
    expect(widest(undefined, 'bigint')).toBe('bigint');
    expect(widest('numeric', 'bigint')).toBe('numeric');
    expect(widest('integer', 'bigint')).toBe('bigint');
  });

  it('finds new fields, fields not yet written and values too wide, by row', () => {
    const fit = new Fit(
      [
        { name: 'id', type: 'integer' },
        { name: 'name', type: 'character varying(2)' },
        { name: 'note', type: 'text' },
      ],
      ['id', 'name'],
    );
    expect(fit.fits([{ id: 1, name: 'ab', extra: null }])).toBe(true);
    const rows = [
      { id: 1, name: 'abc' },
      { id: 2 ** 40, extra: 1, note: 'n' },
      { id: 3, extra: 'x' },
    ];
    expect(fit.fits(rows)).toBe(false);
    expect(fit.scan(rows)).toEqual({
      newFields: new Map([['extra', [1, 2]]]),
      unwritten: ['note'],
      widen: new Map([
        ['name', { type: 'text', rows: [0] }],
        ['id', { type: 'bigint', rows: [1] }],
      ]),
    });
  });

  it('ignores fields outside configured columns', () => {
    const fit = new Fit([{ name: 'id', type: 'bigint' }], ['id'], ['id', 'more']);
    expect(fit.fits([{ id: 1, other: 2 }])).toBe(true);
    expect(fit.scan([{ id: 1, more: 2 }])?.newFields).toEqual(new Map([['more', [0]]]));
  });
});
