import { describe, expect, it } from 'vitest';
import { type CastOptions, castOptionsIssue, castValue, isCastFailure } from './cast.ts';

const day = (v: unknown, opts: CastOptions) => castValue(v, 'date', opts);
const at = (v: unknown, opts: CastOptions) => castValue(v, 'timestamp', opts);
const reason = (r: unknown) => (isCastFailure(r) ? r.reason : `not a failure: ${String(r)}`);

describe('dates through date-fns patterns', () => {
  it.each([
    ['Jun 12 1998', 'MMM d yyyy', '1998-06-12'],
    ['June 12, 1998', 'MMMM d, yyyy', '1998-06-12'],
    ['jun 2 1998', 'MMM d yyyy', '1998-06-02'],
    ['Fri, 12 Jun 1998', 'EEE, d MMM yyyy', '1998-06-12'],
    ['12/06/98', 'dd/MM/yy', '1998-06-12'],
    ['2001/01/01 00:47', 'yyyy/MM/dd HH:mm', '2001-01-01'],
    ['20010101', 'yyyyMMdd', '2001-01-01'],
    ['1998-163', 'yyyy-DDD', '1998-06-12'],
  ])('reads %j with %j', (text, format, want) => {
    expect(day(text, { format })).toBe(want);
  });

  it('reads month and day names in a locale', () => {
    expect(day('12 juin 1998', { format: 'd MMMM yyyy', locale: 'fr' })).toBe('1998-06-12');
    expect(day('vendredi 12 juin 1998', { format: 'EEEE d MMMM yyyy', locale: 'fr' })).toBe('1998-06-12');
    expect(day('12. März 1998', { format: 'd. MMMM yyyy', locale: 'de' })).toBe('1998-03-12');
    expect(day('3 Mär 1998', { format: 'd MMM yyyy', locale: 'de' })).toBe('1998-03-03');
    // date-fns's export names are taken too.
    expect(day('June 12 1998', { format: 'MMMM d yyyy', locale: 'enGB' })).toBe('1998-06-12');
    expect(reason(day('12 June 1998', { format: 'd MMMM yyyy', locale: 'fr' }))).toBe(
      'matches none of the formats "d MMMM yyyy" (locale fr)',
    );
  });

  it('tries a list of formats in order: free formats in one column', () => {
    const format = ['yyyy-MM-dd', 'MMM d yyyy', 'yyyy/MM/dd HH:mm', 'd MMMM yyyy'];
    expect(
      ['1998-06-12', 'Jun 12 1998', '2001/01/01 00:47', '3 March 2020'].map((v) => day(v, { format })),
    ).toEqual(['1998-06-12', '1998-06-12', '2001-01-01', '2020-03-03']);
    const r = day('12.06.1998', { format });
    expect(reason(r)).toBe(
      'matches none of the formats "yyyy-MM-dd", "MMM d yyyy", "yyyy/MM/dd HH:mm", "d MMMM yyyy"',
    );
  });

  it('refuses impossible dates and trailing text', () => {
    expect(isCastFailure(day('Feb 30 2001', { format: 'MMM d yyyy' }))).toBe(true);
    expect(isCastFailure(day('Jun 12 1998 extra', { format: 'MMM d yyyy' }))).toBe(true);
  });

  it('makes timestamps, as UTC without an offset, from the instant with one', () => {
    expect(at('2001/01/01 00:47', { format: 'yyyy/MM/dd HH:mm' })).toBe('2001-01-01T00:47:00.000Z');
    expect(at('12.06.1998 23:59:58', { format: 'dd.MM.yyyy HH:mm:ss' })).toBe('1998-06-12T23:59:58.000Z');
    expect(at('2001-01-01 10:00 +02:00', { format: 'yyyy-MM-dd HH:mm XXX' })).toBe(
      '2001-01-01T08:00:00.000Z',
    );
    expect(at('Jun 12 1998 1:05 PM', { format: 'MMM d yyyy h:mm a' })).toBe('1998-06-12T13:05:00.000Z');
    // A list mixes the keywords and patterns.
    const format = ['iso', 'unix', 'yyyy/MM/dd HH:mm'];
    expect(at('2020-01-02T03:04:05Z', { format })).toBe('2020-01-02T03:04:05.000Z');
    expect(at('0', { format })).toBe('1970-01-01T00:00:00.000Z');
    expect(at('2001/01/01 00:47', { format })).toBe('2001-01-01T00:47:00.000Z');
  });

  it('keeps the hand-written fast path for ISO and YYYY/MM/DD patterns', () => {
    expect(day('2024-02-29', {})).toBe('2024-02-29');
    expect(day('29/02/2024', { format: 'DD/MM/YYYY' })).toBe('2024-02-29');
    expect(reason(day('2024-02-30', { format: 'DD/MM/YYYY' }))).toBe('expected a valid calendar date');
  });

  it('checks patterns and locales, naming the option and the index in a list', () => {
    expect(castOptionsIssue('date', { format: 'dd/MM/yyyy' })).toBeNull();
    expect(castOptionsIssue('date', { format: 'yyyy-MM-dd', locale: 'fr-CA' })).toBeNull();
    expect(castOptionsIssue('date', { format: 'dd/MM/yyy', locale: 'xx' })).toEqual({
      message: expect.stringMatching(/^unknown locale "xx"; use a date-fns locale such as en-US/),
      option: 'locale',
    });
    expect(castOptionsIssue('date', { format: '../../etc', locale: '../x' })?.option).toBe('locale');
    const bad = castOptionsIssue('date', { format: ['dd/MM/yyyy', 'MMM q yyyy'] });
    expect(bad).toMatchObject({ option: 'format', index: 1 });
    expect(bad?.message).toMatch(/^invalid date format "MMM q yyyy"/);
    expect(castOptionsIssue('date', { format: 'MMM yyyy' })?.message).toMatch(/does not hold a full date/);
    expect(castOptionsIssue('date', { format: 'yyyy-mm-dd' })?.message).toMatch(/does not hold a full date/);
    expect(castOptionsIssue('timestamp', { format: 'yyyy-MM-dd HH:mm:ss nope' })?.message).toMatch(
      /^invalid timestamp format .*unescaped latin alphabet character.*Use iso, unix, unix_ms or a date-fns pattern/,
    );
    expect(castOptionsIssue('integer', { locale: 'fr' })).toEqual({
      message: 'type "integer" takes no locale (only date and timestamp do)',
      option: 'locale',
    });
  });
});
