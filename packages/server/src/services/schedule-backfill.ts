import { ConfigError } from '@sluice/core';
import { conflict } from '../api/errors.ts';
import type { Platform } from '../platform.ts';
import { scheduleIntervals } from '../scheduler/intervals.ts';
import { type BackfillView, createBackfill, INTERVAL_PARAMS } from './backfills.ts';
import { getSchedule } from './schedules.ts';

export interface ScheduleBackfillInput {
  /** Slots after this instant; @defaultValue the schedule's last run (its creation if it never ran) */
  from?: string;
  /** Slots up to this instant, inclusive. @defaultValue now */
  to?: string;
  concurrency?: number;
  params?: Record<string, unknown>;
}

function instant(value: string, path: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new ConfigError('invalid backfill', [
      {
        path,
        message: `"${value}" is not a date-time: give ISO 8601 with an offset, e.g. 2026-11-01T00:00:00Z`,
      },
    ]);
  return d;
}

/**
 * Backfills the slots a schedule missed (by default those between its last run and now) with its
 * pipeline and parameters, one job per slot with that slot's date/start/end.
 */
export async function backfillSchedule(
  p: Platform,
  scheduleId: string,
  input: ScheduleBackfillInput,
  actor: string | null,
): Promise<BackfillView> {
  const s = await getSchedule(p, scheduleId);
  if (!s.pipelineId)
    throw conflict(
      `"${s.name}" runs the platform's ${s.task} task, not a pipeline: it has nothing to backfill`,
    );
  const after = input.from ? instant(input.from, 'body.from') : (s.lastRunAt ?? s.createdAt);
  const until = input.to ? instant(input.to, 'body.to') : new Date();
  const intervals = scheduleIntervals({ cron: s.cron, timezone: s.timezone, after, until });
  // The schedule's own values for these would make every run alike: each slot's win.
  const own = Object.fromEntries(
    Object.entries(s.parameters as Record<string, unknown>).filter(
      ([k]) => !(INTERVAL_PARAMS as readonly string[]).includes(k),
    ),
  );
  return createBackfill(
    p,
    {
      pipelineId: s.pipelineId,
      intervals,
      every: 'schedule',
      from: after.toISOString(),
      to: until.toISOString(),
      timezone: s.timezone,
      scheduleId: s.id,
      ...(input.concurrency === undefined ? {} : { concurrency: input.concurrency }),
      parameters: { ...own, ...input.params },
    },
    actor,
  );
}
