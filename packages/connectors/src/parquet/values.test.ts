import { describe, expect, it } from 'vitest';
import { fromJsonTagged, toJsonTagged } from './file-writer.ts';
import { columnTypes, convert } from './schema.ts';
import { dateFromDays, decimal, isoFromUnits, Unmappable } from './values.ts';

describe('parquet values', () => {
  it('writes timestamps with the precision they have, before 1970 too', () => {
    expect(isoFromUnits(1_796_466_030_123n, 1_000n)).toBe('2026-12-05T10:20:30.123Z');
    expect(isoFromUnits(1_796_466_030_123_000n, 1_000_000n)).toBe('2026-12-05T10:20:30.123Z');
    expect(isoFromUnits(1_796_466_030_123_456n, 1_000_000n)).toBe('2026-12-05T10:20:30.123456Z');
    expect(isoFromUnits(1_796_466_030_000_000_001n, 1_000_000_000n)).toBe('2026-12-05T10:20:30.000000001Z');
    expect(isoFromUnits(-1n, 1_000_000n)).toBe('1969-12-31T23:59:59.999999Z');
    expect(isoFromUnits(10n ** 18n, 1_000n)).toBeInstanceOf(Unmappable);
    expect(dateFromDays(-1)).toBe('1969-12-31');
  });

  it('scales decimals exactly, as numbers only when a double holds them', () => {
    expect(decimal(12345, 2)).toBe(123.45);
    expect(decimal(-5n, 1)).toBe(-0.5);
    expect(decimal(1_234_567_890_123_456_789n, 2)).toBe('12345678901234567.89');
    // Where String() turns to exponents, a double still holds these exactly.
    expect(decimal(1n, 7)).toBe(1e-7);
    expect(decimal(-15n, 8)).toBe(-1.5e-7);
    expect(decimal(10n ** 21n, 0)).toBe(1e21);
    expect(decimal(5n, 8)).toBe(5e-8);
    expect(decimal(10n ** 21n + 1n, 0)).toBe('1000000000000000000001');
    expect(decimal(new Uint8Array([0xff, 0xfe]), 0)).toBe(-2);
    expect(decimal(100, 2)).toBe(1);
  });

  it('converts row values to the column types, refusing what would change', () => {
    expect(convert('9223372036854775807', 'integer')).toEqual({ ok: true, value: 9223372036854775807n });
    expect(convert('9223372036854775808', 'integer').ok).toBe(false);
    expect(convert(1.5, 'integer').ok).toBe(false);
    expect(convert('2026-02-30', 'date').ok).toBe(false);
    expect(convert('2026-12-05T10:20:30.1234567Z', 'timestamp').ok).toBe(false);
    expect(convert('2026-12-05 11:20:30.5+01:00', 'timestamp')).toEqual({
      ok: true,
      value: 1_796_466_030_500_000n,
    });
  });

  it('infers column types from the rows, declared ones first', () => {
    const rows = [
      { a: 1, b: 'x', c: null, d: 1 },
      { a: 2, b: 'y', d: 2.5, e: [1] },
    ];
    expect(columnTypes(rows, { z: 'date' })).toEqual([
      ['z', 'date'],
      ['a', 'integer'],
      ['b', 'string'],
      ['c', 'string'],
      ['d', 'number'],
      ['e', 'json'],
    ]);
  });

  it('keeps footer metadata through a JSON checkpoint', () => {
    const meta = { n: 3n, min: -0, bytes: new Uint8Array([1, 2]), nested: [{ x: undefined, y: 'a' }] };
    expect(fromJsonTagged(JSON.parse(JSON.stringify(toJsonTagged(meta))))).toEqual({
      ...meta,
      nested: [{ y: 'a' }],
    });
  });
});
