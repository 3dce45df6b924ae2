import { ConfigError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { decide, nextRuns } from './cron.ts';

const at = (iso: string) => new Date(iso);

describe('nextRuns', () => {
  it('follows the time zone, across a daylight-saving change', () => {
    // Lisbon leaves summer time on 2026-10-25: 09:00 local is 08:00Z before, 09:00Z after.
    const runs = nextRuns('0 9 * * *', 'Europe/Lisbon', at('2026-10-24T12:00:00Z'), 2);
    expect(runs.map((d) => d.toISOString())).toEqual([
      '2026-10-25T09:00:00.000Z',
      '2026-10-26T09:00:00.000Z',
    ]);
    const before = nextRuns('0 9 * * *', 'Europe/Lisbon', at('2026-10-23T12:00:00Z'), 1);
    expect(before[0]!.toISOString()).toBe('2026-10-24T08:00:00.000Z');
  });

  it('names the field at fault', () => {
    const err = (() => {
      try {
        nextRuns('61 * * * *', 'Mars/Base', new Date(), 1);
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.issues.map((i) => i.path)).toEqual(['timezone', 'cron']);
    expect(err!.issues[1]!.message).toMatch(/Invalid value for minute: 61/);
  });
});

describe('decide', () => {
  const s = { cron: '0 * * * *', timezone: 'UTC', missedPolicy: 'skip' as const };
  it('waits until the run time', () => {
    const d = decide({ ...s, nextRunAt: at('2026-01-01T10:00:00Z') }, at('2026-01-01T09:59:00Z'), 60_000);
    expect(d).toEqual({ fire: false, missed: false, next: at('2026-01-01T10:00:00Z') });
  });
  it('fires a run that is due, and moves to the next slot', () => {
    const d = decide({ ...s, nextRunAt: at('2026-01-01T10:00:00Z') }, at('2026-01-01T10:00:05Z'), 60_000);
    expect(d).toEqual({ fire: true, missed: false, next: at('2026-01-01T11:00:00Z') });
  });
  it('after downtime skips, or runs once, never once per missed slot', () => {
    const late = { ...s, nextRunAt: at('2026-01-01T10:00:00Z') };
    const now = at('2026-01-01T15:30:00Z');
    expect(decide(late, now, 60_000)).toEqual({
      fire: false,
      missed: true,
      next: at('2026-01-01T16:00:00Z'),
    });
    expect(decide({ ...late, missedPolicy: 'run_once' }, now, 60_000)).toEqual({
      fire: true,
      missed: true,
      next: at('2026-01-01T16:00:00Z'),
    });
  });
});
