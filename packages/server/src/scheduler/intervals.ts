import { ConfigError, type Issue } from '@sluice/core';
import { Cron } from 'croner';

export const EVERY = ['hour', 'day', 'week', 'month'] as const;
export type Every = (typeof EVERY)[number];

/** One run of a backfill: the parameters it sets (`${params.date}`, `${params.start}`, `${params.end}`). */
export interface Interval {
  /** The interval's start: an ISO date (day, week, month) or an ISO date-time with offset (hour). */
  date: string;
  /** The interval's first instant, in the same form as `date`. */
  start: string;
  /** The next interval's start (exclusive bound), in the same form. */
  end: string;
}

/** More runs than this in one backfill is a typo (a year of hours is 8,760), not a plan. */
export const MAX_INTERVALS = 10_000;

// Interval starts are the fire times of these crons, so croner's time-zone and DST rules (a
// midnight that does not exist, an hour that repeats) apply as they do to schedules.
const GRID: Record<Every, string> = {
  hour: '0 * * * *',
  day: '0 0 * * *',
  week: '0 0 * * 1', // ISO weeks start on Monday
  month: '0 0 1 * *',
};

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

const formats = new Map<string, Intl.DateTimeFormat>();
function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formats.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    formats.set(timezone, f);
  }
  return f;
}

/** The wall-clock time of `at` in `timezone`: `YYYY-MM-DDTHH:MM:SS` and its offset (`Z`, `+05:30`). */
export function wallClock(at: Date, timezone: string): { local: string; offset: string } {
  const parts = Object.fromEntries(
    formatter(timezone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const raw = (parts.timeZoneName ?? 'GMT').replace(/^GMT/, '');
  const offset = raw === '' || raw === '+00:00' || raw === '-00:00' ? 'Z' : raw;
  return {
    local: `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`,
    offset,
  };
}

/** `at` as an ISO 8601 date-time in `timezone`, with its offset: `2026-11-01T05:00:00+01:00`. */
export function isoInZone(at: Date, timezone: string): string {
  const w = wallClock(at, timezone);
  return `${w.local}${w.offset}`;
}

function checkTimezone(timezone: string, issues: Issue[]) {
  try {
    formatter(timezone);
  } catch {
    issues.push({
      path: 'timezone',
      message: `"${timezone}" is not an IANA time zone (e.g. "UTC", "Europe/Lisbon", "America/New_York")`,
    });
  }
}

/** `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]` as a sortable local label, or an issue at `path`. */
function localLabel(value: string, path: string, every: Every, issues: Issue[]): string | undefined {
  const m = LOCAL.exec(value);
  const shape =
    "give a date (2026-11-01) or a local time (2026-11-01T05:00) in the backfill's timezone, without an offset";
  if (!m) {
    issues.push({ path, message: `"${value}" is not a date or local time: ${shape}` });
    return undefined;
  }
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = m;
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  if (check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    issues.push({ path, message: `"${value}" is not a real date or time: ${shape}` });
    return undefined;
  }
  if (every !== 'hour' && (h !== '00' || mi !== '00' || s !== '00')) {
    issues.push({
      path,
      message: `"${value}" has a time of day, but every ${every} interval starts at midnight: give the date alone`,
    });
    return undefined;
  }
  return `${y}-${mo}-${d}T${h}:${mi}:${s}`;
}

const asDate = (local: string) => local.slice(0, 10);
const BOUNDARY: Record<Every, string> = {
  hour: 'the start of an hour (minutes and seconds 0)',
  day: 'a day',
  week: 'the start of a week (weeks start on Monday)',
  month: 'the start of a month (the 1st)',
};

/**
 * The intervals of [from, to) in `timezone`, each `every` long, aligned to the calendar: hours,
 * days, ISO weeks (Monday), months. `from` must be an interval's start (a misaligned one is refused
 * with the nearest starts, never silently moved); `to` is exclusive and need not be aligned (the
 * intervals are those that start before it). Problems are ConfigError issues at `from`, `to`,
 * `every`, `timezone`.
 */
export function backfillIntervals(o: {
  from: string;
  to: string;
  every: Every;
  timezone?: string;
}): Interval[] {
  const timezone = o.timezone ?? 'UTC';
  const issues: Issue[] = [];
  if (!EVERY.includes(o.every))
    issues.push({ path: 'every', message: `"${o.every}" is not an interval: use ${EVERY.join(', ')}` });
  checkTimezone(timezone, issues);
  if (issues.length > 0) throw new ConfigError('invalid backfill', issues);
  const from = localLabel(o.from, 'from', o.every, issues);
  const to = localLabel(o.to, 'to', o.every, issues);
  if (from && to && to <= from)
    issues.push({
      path: 'to',
      message: `"${o.to}" is not after from "${o.from}": to is the exclusive end of the range`,
    });
  if (issues.length > 0 || !from || !to) throw new ConfigError('invalid backfill', issues);

  const cron = new Cron(GRID[o.every], { paused: true, timezone });
  // No offset on earth is more than 14 hours from UTC: the wall time `from` is after this instant.
  let at = new Date(Date.parse(`${from}Z`) - 15 * 3600_000);
  const starts: { at: Date; local: string }[] = [];
  const key = (local: string) => (o.every === 'hour' ? local : asDate(local));
  for (;;) {
    const next = cron.nextRun(at);
    if (!next) break;
    at = next;
    const local = wallClock(next, timezone).local;
    if (key(local) < key(from)) continue;
    if (starts.length === 0 && key(local) !== key(from)) {
      const prev = cron.previousRuns(1, next)[0];
      const around = [prev, next]
        .filter((d): d is Date => d !== undefined)
        .map((d) => label(d, o.every, timezone));
      cron.stop();
      throw new ConfigError('invalid backfill', [
        {
          path: 'from',
          message: `"${o.from}" is not ${BOUNDARY[o.every]} in ${timezone}: start at ${around.join(' or ')}`,
        },
      ]);
    }
    if (key(local) >= key(to)) {
      starts.push({ at: next, local }); // the last interval's end
      break;
    }
    starts.push({ at: next, local });
    if (starts.length > MAX_INTERVALS + 1) {
      cron.stop();
      throw new ConfigError('invalid backfill', [
        {
          path: 'to',
          message: `[${o.from}, ${o.to}) holds more than ${MAX_INTERVALS} ${o.every}s: split it into smaller backfills`,
        },
      ]);
    }
  }
  cron.stop();
  const out: Interval[] = [];
  for (let i = 0; i + 1 < starts.length; i++) {
    const start = label(starts[i]!.at, o.every, timezone);
    out.push({ date: start, start, end: label(starts[i + 1]!.at, o.every, timezone) });
  }
  return out;
}

/** An interval start as its `date` parameter shows it. */
function label(at: Date, every: Every, timezone: string): string {
  return every === 'hour' ? isoInZone(at, timezone) : asDate(wallClock(at, timezone).local);
}

/**
 * A schedule's slots after `after` up to and including `until`, as intervals: each from its slot to
 * the next. `date` is the slot's local date when the schedule fires at most once a day, else its
 * date-time; `start` and `end` are date-times with their offsets.
 */
export function scheduleIntervals(o: {
  cron: string;
  timezone: string;
  after: Date;
  until: Date;
}): Interval[] {
  const cron = new Cron(o.cron, { paused: true, timezone: o.timezone });
  try {
    const slots: Date[] = [];
    let at = o.after;
    for (;;) {
      const next = cron.nextRun(at);
      if (!next || next.getTime() > o.until.getTime()) break;
      slots.push(next);
      at = next;
      if (slots.length > MAX_INTERVALS) {
        throw new ConfigError('invalid backfill', [
          {
            path: 'from',
            message: `the schedule missed more than ${MAX_INTERVALS} runs since ${o.after.toISOString()}: give a later from`,
          },
        ]);
      }
    }
    const ends = slots.map((s) => cron.nextRun(s)!);
    const pair = cron.nextRuns(2, o.after);
    const daily = pair.length < 2 || pair[1]!.getTime() - pair[0]!.getTime() >= 23 * 3600_000;
    return slots.map((s, i) => ({
      date: daily ? asDate(wallClock(s, o.timezone).local) : isoInZone(s, o.timezone),
      start: isoInZone(s, o.timezone),
      end: isoInZone(ends[i]!, o.timezone),
    }));
  } finally {
    cron.stop();
  }
}
