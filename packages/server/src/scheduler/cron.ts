import { ConfigError } from '@sluice/core';
import { Cron } from 'croner';

export type MissedPolicy = 'skip' | 'run_once';

/**
 * Checks a cron expression and an IANA time zone, and returns the next `n` run times after
 * `after`. Problems are reported at the field they concern (`cron`, `timezone`).
 */
export function nextRuns(cron: string, timezone: string, after: Date, n: number): Date[] {
  const issues = [];
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    issues.push({
      path: 'timezone',
      message: `"${timezone}" is not an IANA time zone (e.g. "UTC", "Europe/Lisbon", "America/New_York")`,
    });
  }
  let job: Cron | undefined;
  try {
    job = new Cron(cron, { paused: true, ...(issues.length === 0 ? { timezone } : {}) });
  } catch (err) {
    issues.push({
      path: 'cron',
      message: `"${cron}" is not a valid cron expression: ${(err as Error).message.replace(/^CronPattern: /, '')} (five fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * *"; an optional sixth, leading, for seconds)`,
    });
  }
  if (issues.length > 0 || !job) throw new ConfigError('invalid schedule', issues);
  const runs = job.nextRuns(n, after);
  job.stop();
  return runs;
}

export function nextRun(cron: string, timezone: string, after: Date): Date | null {
  return nextRuns(cron, timezone, after, 1)[0] ?? null;
}

export interface DueSchedule {
  cron: string;
  timezone: string;
  nextRunAt: Date | null;
  missedPolicy: MissedPolicy;
}

export interface Decision {
  /** Start a run now. */
  fire: boolean;
  /** The run time was missed by more than the grace (the scheduler was down). */
  missed: boolean;
  /** The next run time to store: always after `now`, so missed slots collapse into one decision. */
  next: Date | null;
}

/**
 * What to do with a schedule at `now`. A run a little late (within `graceMs`: a busy tick)
 * starts; one missed by more, after downtime, starts once or not at all by the missed-run policy,
 * never once per missed slot.
 */
export function decide(s: DueSchedule, now: Date, graceMs: number): Decision {
  if (s.nextRunAt === null || s.nextRunAt.getTime() > now.getTime()) {
    return { fire: false, missed: false, next: s.nextRunAt ?? nextRun(s.cron, s.timezone, now) };
  }
  const next = nextRun(s.cron, s.timezone, now);
  const missed = now.getTime() - s.nextRunAt.getTime() > graceMs;
  return { fire: !missed || s.missedPolicy === 'run_once', missed, next };
}
