import { describe, expect, it } from 'vitest';
import { Checksum } from './checksum.ts';

const sum = (rows: Record<string, unknown>[]) => {
  const c = new Checksum();
  c.addRows(rows);
  return c.toString();
};

describe('Checksum', () => {
  const rows = [
    { id: 1, name: 'a', ok: true },
    { id: 2, name: 'b', ok: false },
    { id: 3, name: null, ok: true },
  ];

  it('does not depend on row order or batching', () => {
    const a = sum(rows);
    expect(sum([...rows].reverse())).toBe(a);
    const c = new Checksum();
    c.addRows(rows.slice(0, 1));
    c.addRows(rows.slice(1));
    expect(c.toString()).toBe(a);
    // Shapes may change from row to row.
    const mixed = [{ id: 1 }, { id: 1, extra: 2 }, { other: 1 }];
    expect(sum(mixed)).toBe(sum([...mixed].reverse()));
    expect(sum([{ a: 1 }])).not.toBe(sum([{ b: 1 }]));
  });

  it('combines checksums of parts into the checksum of the whole, with carries', () => {
    const whole = sum(rows);
    const c = Checksum.from(sum(rows.slice(0, 2)));
    c.plus(sum(rows.slice(2)));
    expect(c.toString()).toBe(whole);
    const carry = Checksum.from('00000000ffffffff');
    carry.plus('0000000000000001');
    expect(carry.toString()).toBe('0000000100000000');
    const wrap = Checksum.from('ffffffffffffffff');
    wrap.plus('0000000000000002');
    expect(wrap.toString()).toBe('0000000000000001');
  });

  it('changes when a row is changed, lost or duplicated', () => {
    const a = sum(rows);
    expect(sum([...rows, rows[0]!])).not.toBe(a);
    expect(sum(rows.slice(1))).not.toBe(a);
    expect(sum([{ ...rows[0]!, id: '1' }, ...rows.slice(1)])).not.toBe(a);
    expect(sum([{ a: 'ab', b: 'c' }])).not.toBe(sum([{ a: 'a', b: 'bc' }]));
    expect(sum([{ a: null }])).not.toBe(sum([{ a: undefined }]));
    expect(sum([{ id: 1, name: 'b', ok: true }, { id: 2, name: 'a', ok: false }, rows[2]!])).not.toBe(a);
  });

  it('round-trips through its hex form', () => {
    const a = new Checksum();
    a.addRows(rows);
    expect(Checksum.from(a.toString()).toString()).toBe(sum(rows));
    expect(sum([])).toBe('0000000000000000');
  });
});
