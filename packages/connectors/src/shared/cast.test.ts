import { describe, expect, it } from 'vitest';
import {
  type CastType,
  caster,
  castValue,
  checkCastOptions,
  describeCastFailure,
  isCastFailure,
} from './cast.ts';
import { numberLoss } from './json-numbers.ts';

function ok(value: unknown, type: CastType, format?: string): unknown {
  const r = castValue(value, type, format === undefined ? {} : { format });
  if (isCastFailure(r)) throw new Error(`expected ${String(value)} to cast to ${type}: ${r.reason}`);
  return r;
}
function fails(value: unknown, type: CastType, format?: string): string {
  const r = castValue(value, type, format === undefined ? {} : { format });
  if (!isCastFailure(r))
    throw new Error(`expected ${String(value)} not to cast to ${type}, got ${String(r)}`);
  return r.reason;
}

describe('integer', () => {
  it('accepts strict decimal integers', () => {
    expect(ok('42', 'integer')).toBe(42);
    expect(ok('-7', 'integer')).toBe(-7);
    expect(ok('+3', 'integer')).toBe(3);
    expect(ok('007', 'integer')).toBe(7);
    expect(Object.is(ok('-0', 'integer'), 0)).toBe(true);
    expect(ok('9007199254740991', 'integer')).toBe(Number.MAX_SAFE_INTEGER);
    expect(ok(12, 'integer')).toBe(12);
    expect(ok(12n, 'integer')).toBe(12);
  });
  it('rejects fractions, text, blanks and unsafe magnitudes', () => {
    for (const bad of ['1.5', 'abc', '', ' 1', '1 ', '1e3', '0x10', '-', '1,000', true]) {
      expect(fails(bad, 'integer')).toMatch(/decimal integer/);
    }
    expect(fails(1.5, 'integer')).toMatch(/decimal integer/);
    expect(fails('9007199254740993', 'integer')).toMatch(/safe range/);
    expect(fails(2 ** 60, 'integer')).toMatch(/safe range/);
    expect(fails(2n ** 60n, 'integer')).toMatch(/safe range/);
    expect(fails(Number.NaN, 'integer')).toMatch(/NaN/);
  });
});

describe('number', () => {
  it('accepts decimals and exponents', () => {
    expect(ok('3.14', 'number')).toBe(3.14);
    expect(ok('-2', 'number')).toBe(-2);
    expect(ok('.5', 'number')).toBe(0.5);
    expect(ok('1.', 'number')).toBe(1);
    expect(ok('1e6', 'number')).toBe(1e6);
    expect(ok('2.5E-3', 'number')).toBe(0.0025);
    expect(ok(1.25, 'number')).toBe(1.25);
  });
  it("rejects '', 'abc', '1,5', hex and Infinity", () => {
    for (const bad of ['', 'abc', '1,5', '0x1F', 'Infinity', ' 1', '1e', '.', false]) {
      expect(fails(bad, 'number')).toMatch(/decimal number/);
    }
    expect(fails('1e400', 'number')).toMatch(/out of the range of a double/);
    expect(fails(Number.POSITIVE_INFINITY, 'number')).toMatch(/Infinity/);
  });
  it('refuses what a double would change, and keeps what it holds (issue 13)', () => {
    expect(fails('1e-400', 'number')).toMatch(/too close to 0 .*cast it to string/);
    expect(fails('123456789012345678901234567890', 'number')).toMatch(/no double holds/);
    expect(fails('0.12345678901234567890123', 'number')).toMatch(/more significant digits/);
    for (const t of ['0.30000000000000004', '6.022e23', '1e-300', '100000000000000000000'])
      expect(ok(t, 'number'), t).toBe(Number(t));
    expect(fails('9007199254740993', 'number')).toMatch(/no double holds .*9007199254740992/);
  });
  it('reads plain decimals exactly as Number() does, up to 15 digits and beyond', () => {
    const texts = ['-0.0', '+0.50', '0.1', '0.3', '123456789012345', '1234567890123456', '9.999999999999999'];
    let seed = 11;
    const next = (m: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % m;
    };
    for (let i = 0; i < 20000; i++) {
      const int = String(next(10 ** (1 + next(9))));
      const frac = String(next(10 ** 7))
        .padStart(7, '0')
        .slice(0, next(8));
      texts.push(`${next(3) === 0 ? '-' : ''}${int}${frac === '' && next(2) ? '' : '.'}${frac}`);
    }
    for (const t of texts) {
      // 16 digits need not fit a double (9.999999999999999 reads as …998): those are refused.
      if (numberLoss(t)) {
        expect(fails(t, 'number'), t).toMatch(/more significant digits/);
        continue;
      }
      expect(Object.is(ok(t, 'number'), Number(t) + 0), t).toBe(true);
      if (/^[+-]?\d+$/.test(t)) expect(Object.is(ok(t, 'integer'), Number(t) + 0), t).toBe(true);
    }
  });
});

describe('boolean', () => {
  it('accepts true/false, 1/0 and yes/no in any case', () => {
    for (const t of ['true', 'TRUE', 'True', '1', 'yes', 'YES', 1, true]) expect(ok(t, 'boolean')).toBe(true);
    for (const f of ['false', 'False', '0', 'no', 'No', 0, false]) expect(ok(f, 'boolean')).toBe(false);
  });
  it('rejects anything else', () => {
    for (const bad of ['', 'y', 't', '2', 'maybe', 'truely', 2])
      expect(fails(bad, 'boolean')).toMatch(/yes\/no/);
  });
});

describe('date', () => {
  it('validates YYYY-MM-DD and keeps the text', () => {
    expect(ok('2024-02-29', 'date')).toBe('2024-02-29');
    expect(ok('2000-02-29', 'date')).toBe('2000-02-29');
    expect(ok(new Date('2024-03-01T23:30:00Z'), 'date')).toBe('2024-03-01');
  });
  it('rejects impossible or malformed dates', () => {
    for (const bad of [
      '2023-02-30',
      '2023-02-29',
      '1900-02-29',
      '2023-13-01',
      '2023-00-10',
      '2023-1-01',
      '20230101',
    ]) {
      expect(fails(bad, 'date')).toMatch(/calendar date/);
    }
    expect(fails('2023-01-01T00:00:00Z', 'date')).toMatch(/calendar date/);
  });
  it('reads other layouts with a format and outputs ISO dates', () => {
    expect(ok('31/12/2023', 'date', 'DD/MM/YYYY')).toBe('2023-12-31');
    expect(ok('12.31.2023', 'date', 'MM.DD.YYYY')).toBe('2023-12-31');
    expect(ok('20231231', 'date', 'YYYYMMDD')).toBe('2023-12-31');
    expect(fails('30/02/2023', 'date', 'DD/MM/YYYY')).toMatch(/calendar date/);
    expect(fails('31-12-2023', 'date', 'DD/MM/YYYY')).toMatch(/calendar date/);
  });
});

describe('timestamp', () => {
  it('parses ISO-8601 into UTC ISO text', () => {
    expect(ok('2024-03-01T12:00:00Z', 'timestamp')).toBe('2024-03-01T12:00:00.000Z');
    expect(ok('2024-03-01T12:00:00+02:00', 'timestamp')).toBe('2024-03-01T10:00:00.000Z');
    expect(ok('2024-03-01T00:30:00-0130', 'timestamp')).toBe('2024-03-01T02:00:00.000Z');
    expect(ok('2024-03-01 12:00', 'timestamp')).toBe('2024-03-01T12:00:00.000Z');
    expect(ok('2024-03-01T12:00:00.123456Z', 'timestamp')).toBe('2024-03-01T12:00:00.123Z');
    expect(ok('2024-03-01T12:00:00.5Z', 'timestamp')).toBe('2024-03-01T12:00:00.500Z');
    expect(ok('2024-03-01', 'timestamp')).toBe('2024-03-01T00:00:00.000Z');
    expect(ok('0050-01-01T00:00:00Z', 'timestamp')).toBe('0050-01-01T00:00:00.000Z');
    expect(ok(new Date(0), 'timestamp')).toBe('1970-01-01T00:00:00.000Z');
    expect(ok('2024-03-01t12:00:00,25z', 'timestamp')).toBe('2024-03-01T12:00:00.250Z');
    expect(ok('2024-03-01T12:00:00+00:00', 'timestamp')).toBe('2024-03-01T12:00:00.000Z');
    expect(ok('2024-03-01T01:00:00+05', 'timestamp')).toBe('2024-02-29T20:00:00.000Z');
    expect(ok('0001-01-01T00:30:00+01:00', 'timestamp')).toBe('0000-12-31T23:30:00.000Z');
    expect(ok('2023-12-31T23:30:00-01:00', 'timestamp')).toBe('2024-01-01T00:30:00.000Z');
  });
  it('returns canonical input as the very same string', () => {
    const s = '2024-03-01T12:00:00.000Z';
    expect(castValue(s, 'timestamp')).toBe(s);
    // A comma before the fraction is read, not passed on as if canonical.
    expect(castValue('2024-01-01T12:00:00,123Z', 'timestamp')).toBe('2024-01-01T12:00:00.123Z');
  });
  it('rejects what Date.parse would wrongly accept', () => {
    for (const bad of [
      'March 7, 2024',
      '2023-02-30T00:00:00Z',
      '2024-03-01T24:00:00Z',
      '2024-03-01T12:60:00Z',
      '2024-03-01+02:00',
      '2024-03-01T12:00:00+25:00',
      '',
      '1709294400',
      '2024-03-01T12:00:',
      '2024-03-01T12:00:00.Z',
      '2024-03-01T12:00:00.1234567890Z',
      '2024-03-01T12:00:00Zjunk',
      '2024-03-01T12:00:00+5',
      '2024-03-01T1:00:00Z',
      '2024-03-01X12:00:00Z',
    ]) {
      expect(fails(bad, 'timestamp')).toMatch(/ISO-8601/);
    }
    expect(fails(new Date(Number.NaN), 'timestamp')).toMatch(/ISO-8601/);
    expect(fails(1709294400, 'timestamp')).toMatch(/format: unix/);
  });
  it('reads epoch seconds and milliseconds with a format', () => {
    expect(ok(1709294400, 'timestamp', 'unix')).toBe('2024-03-01T12:00:00.000Z');
    expect(ok('1709294400', 'timestamp', 'unix')).toBe('2024-03-01T12:00:00.000Z');
    expect(ok(1709294400123, 'timestamp', 'unix_ms')).toBe('2024-03-01T12:00:00.123Z');
    expect(fails('yesterday', 'timestamp', 'unix')).toMatch(/since 1970/);
  });
});

describe('string and nulls', () => {
  it('turns values into text', () => {
    expect(ok('x', 'string')).toBe('x');
    expect(ok(42, 'string')).toBe('42');
    expect(ok(true, 'string')).toBe('true');
    expect(ok(12n, 'string')).toBe('12');
    expect(ok({ a: [1] }, 'string')).toBe('{"a":[1]}');
    expect(ok(new Date(0), 'string')).toBe('1970-01-01T00:00:00.000Z');
  });
  it('passes null unless nullable is false, and maps null values', () => {
    expect(castValue(null, 'integer')).toBeNull();
    expect(castValue(undefined, 'date')).toBeNull();
    const strict = castValue(null, 'integer', { nullable: false });
    expect(isCastFailure(strict) && strict.reason).toMatch(/nullable: false/);
    const c = caster('number', { nullValues: ['', 'NA'] });
    expect(c('')).toBeNull();
    expect(c('NA')).toBeNull();
    expect(c('na')).not.toBeNull();
    expect(isCastFailure(caster('number', { nullValues: [''], nullable: false })(''))).toBe(true);
  });
});

describe('options and messages', () => {
  it('checks formats', () => {
    expect(checkCastOptions('date', { format: 'DD/MM/YYYY' })).toBeNull();
    expect(checkCastOptions('date', { format: 'DD/MM/YY' })).toMatch(/invalid date format/);
    expect(checkCastOptions('date', { format: 'yyyy-MM-DD' })).toMatch(/invalid date format/);
    expect(checkCastOptions('timestamp', { format: 'rfc2822' })).toMatch(/iso, unix, unix_ms/);
    expect(checkCastOptions('integer', { format: '0,0' })).toMatch(/takes no format/);
    expect(checkCastOptions('money' as CastType)).toMatch(/unknown type "money"/);
    expect(() => caster('date', { format: 'nope' })).toThrow(/invalid date format/);
  });
  it('names field, value and type', () => {
    const r = castValue('1.5', 'integer');
    if (!isCastFailure(r)) throw new Error('expected a failure');
    expect(describeCastFailure('qty', '1.5', 'integer', r)).toBe(
      'field "qty": cannot cast "1.5" to integer: expected a decimal integer such as 42 or -7',
    );
  });
  it('returns the very same value when nothing changes', () => {
    const s = 'abc';
    expect(castValue(s, 'string')).toBe(s);
    const c = caster('integer');
    expect(c(5)).toBe(5);
  });
});
