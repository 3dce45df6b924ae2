import { ConfigError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { backfillIntervals, scheduleIntervals } from './intervals.ts';

const issues = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
};

describe('backfillIntervals', () => {
  it('splits [from, to) into days, with date, start and end', () => {
    const days = backfillIntervals({ from: '2026-11-01', to: '2026-11-04', every: 'day' });
    expect(days).toEqual([
      { date: '2026-11-01', start: '2026-11-01', end: '2026-11-02' },
      { date: '2026-11-02', start: '2026-11-02', end: '2026-11-03' },
      { date: '2026-11-03', start: '2026-11-03', end: '2026-11-04' },
    ]);
  });

  it('counts days by the wall clock of the time zone across a DST change', () => {
    const days = backfillIntervals({
      from: '2026-10-24',
      to: '2026-10-27',
      every: 'day',
      timezone: 'Europe/Lisbon',
    });
    expect(days.map((d) => d.date)).toEqual(['2026-10-24', '2026-10-25', '2026-10-26']);
  });

  it('gives hours as date-times with their offset, 23 on the day the clocks go forward', () => {
    const hours = backfillIntervals({
      from: '2026-03-29',
      to: '2026-03-30',
      every: 'hour',
      timezone: 'Europe/Lisbon',
    });
    expect(hours).toHaveLength(23);
    expect(hours[0]).toEqual({
      date: '2026-03-29T00:00:00Z',
      start: '2026-03-29T00:00:00Z',
      end: '2026-03-29T02:00:00+01:00',
    });
    expect(hours.at(-1)!.end).toBe('2026-03-30T00:00:00+01:00');
  });

  it('aligns weeks to Monday and months to the 1st; the last interval may end after `to`', () => {
    expect(
      backfillIntervals({ from: '2026-11-02', to: '2026-11-10', every: 'week' }).map((w) => [w.date, w.end]),
    ).toEqual([
      ['2026-11-02', '2026-11-09'],
      ['2026-11-09', '2026-11-16'],
    ]);
    expect(
      backfillIntervals({ from: '2026-01-01', to: '2026-04-01', every: 'month' }).map((m) => m.date),
    ).toEqual(['2026-01-01', '2026-02-01', '2026-03-01']);
  });

  it('refuses a misaligned from, naming the starts around it', () => {
    const [i] = issues(() => backfillIntervals({ from: '2026-11-05', to: '2026-12-01', every: 'week' }));
    expect(i).toEqual({
      path: 'from',
      message:
        '"2026-11-05" is not the start of a week (weeks start on Monday) in UTC: start at 2026-11-02 or 2026-11-09',
    });
  });

  it('refuses bad dates, an empty range, a bad zone and a time of day for days', () => {
    expect(
      issues(() => backfillIntervals({ from: '2026-02-30', to: '2026-03-01', every: 'day' }))[0]!.path,
    ).toBe('from');
    expect(
      issues(() => backfillIntervals({ from: '2026-11-02', to: '2026-11-01', every: 'day' }))[0]!.path,
    ).toBe('to');
    expect(
      issues(() =>
        backfillIntervals({ from: '2026-11-01', to: '2026-11-02', every: 'day', timezone: 'Mars/Base' }),
      )[0]!.path,
    ).toBe('timezone');
    expect(
      issues(() => backfillIntervals({ from: '2026-11-01T05:00', to: '2026-11-02', every: 'day' }))[0]!
        .message,
    ).toMatch(/give the date alone/);
    expect(
      issues(() => backfillIntervals({ from: '2000-01-01', to: '2026-01-01', every: 'hour' }))[0]!.message,
    ).toMatch(/more than 10000 hours/);
  });
});

describe('scheduleIntervals', () => {
  it('lists the slots after the last run up to now, each to the next slot', () => {
    const slots = scheduleIntervals({
      cron: '0 3 * * *',
      timezone: 'UTC',
      after: new Date('2026-11-01T03:00:05Z'),
      until: new Date('2026-11-04T10:00:00Z'),
    });
    expect(slots).toEqual([
      { date: '2026-11-02', start: '2026-11-02T03:00:00Z', end: '2026-11-03T03:00:00Z' },
      { date: '2026-11-03', start: '2026-11-03T03:00:00Z', end: '2026-11-04T03:00:00Z' },
      { date: '2026-11-04', start: '2026-11-04T03:00:00Z', end: '2026-11-05T03:00:00Z' },
    ]);
  });

  it('gives date-times as the date of a schedule that fires more than once a day', () => {
    const slots = scheduleIntervals({
      cron: '0 */6 * * *',
      timezone: 'UTC',
      after: new Date('2026-11-01T00:00:00Z'),
      until: new Date('2026-11-01T12:00:00Z'),
    });
    expect(slots.map((s) => s.date)).toEqual(['2026-11-01T06:00:00Z', '2026-11-01T12:00:00Z']);
  });
});
