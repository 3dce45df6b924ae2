import { vacuumAnalyze } from '../db/maintenance.ts';
import { type Schedule, type SystemTask, schedules } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { nextRun } from '../scheduler/cron.ts';
import { applyRetention } from './retention.ts';
import type { HourTotals } from './summary.ts';

interface Default {
  task: SystemTask;
  name: string;
  cron: string;
  parameters: Record<string, unknown>;
}

/**
 * The platform's own maintenance, as schedules: listed, paused and re-timed like a pipeline's,
 * and run by whichever server process claims them when due (runDueSchedules).
 */
export function systemDefaults(p: Platform, retentionDays: number): Default[] {
  return [
    {
      task: 'retention',
      name: 'retention (system)',
      cron: '47 3 * * *',
      parameters: { days: retentionDays },
    },
    { task: 'rollup', name: 'hourly roll-up of runs (system)', cron: '5 * * * *', parameters: {} },
    // PGlite never autovacuums; a PostgreSQL server vacuums itself.
    ...(p.database.kind === 'pglite'
      ? [{ task: 'vacuum' as const, name: 'VACUUM ANALYZE (system)', cron: '17 3 * * *', parameters: {} }]
      : []),
  ];
}

/** Creates the system schedules that do not exist yet; edits made to existing ones are kept. */
export async function ensureSystemSchedules(p: Platform, retentionDays: number): Promise<void> {
  for (const d of systemDefaults(p, retentionDays))
    await p.database.db
      .insert(schedules)
      .values({ ...d, timezone: 'UTC', nextRunAt: nextRun(d.cron, 'UTC', new Date()) })
      .onConflictDoNothing({ target: schedules.task });
}

/** Runs one system task now; what it did, for the log. */
export async function runSystemTask(p: Platform, s: Schedule, now = new Date()): Promise<string> {
  const params = (s.parameters ?? {}) as { days?: number };
  switch (s.task) {
    case 'retention': {
      const days = Number(params.days ?? 30);
      if (!(days > 0)) return 'retention is off (days ≤ 0)';
      const r = await applyRetention(p, days, now);
      return `retention: deleted ${r.jobs} jobs finished before ${r.cutoff}`;
    }
    case 'vacuum':
      await vacuumAnalyze(p.database);
      return 'VACUUM ANALYZE done';
    case 'rollup':
      return `roll-up: ${await rollupRuns(p, now)} hour × pipeline rows written`;
    default:
      throw new Error(`schedule ${s.id} has no task the platform knows: ${String(s.task)}`);
  }
}

/**
 * Recomputes the per-pipeline, per-hour run totals from the jobs table, from two hours before the
 * last hour rolled up (a late-finishing job lands in its hour on the next pass; a server that was
 * down catches up) — or the last 31 days on the first pass. Idempotent; rolled-up hours are kept
 * after retention deletes their jobs.
 */
export async function rollupRuns(p: Platform, now = new Date()): Promise<number> {
  const [last] = await p.database.query<{ hour: Date | string | null }>(
    'SELECT max(hour) AS hour FROM run_rollups',
  );
  const since = last?.hour
    ? new Date(new Date(last.hour).getTime() - 2 * 3_600_000)
    : new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - 31 * 86_400_000);
  const rows = await p.database.query<{ n: number }>(
    `WITH steps AS (
       SELECT job_id, sum(rows_read) AS rows_read, sum(rows_quarantined) AS rows_quarantined
         FROM step_executions
        WHERE job_id IN (SELECT id FROM job_executions WHERE created_at >= $1 AND created_at < $2)
        GROUP BY job_id
     ), done AS (
       INSERT INTO run_rollups (hour, pipeline_id, jobs, success, failed, duration_ms_sum, rows_read, rows_quarantined)
       SELECT date_trunc('hour', j.created_at), j.pipeline_id, count(*)::int,
              count(*) FILTER (WHERE j.status = 'success')::int,
              count(*) FILTER (WHERE j.status IN ('failed', 'timeout'))::int,
              coalesce(sum(j.duration_ms), 0), coalesce(sum(s.rows_read), 0), coalesce(sum(s.rows_quarantined), 0)
         FROM job_executions j LEFT JOIN steps s ON s.job_id = j.id
        WHERE j.created_at >= $1 AND j.created_at < $2
        GROUP BY 1, 2
       ON CONFLICT (hour, pipeline_id) DO UPDATE SET
         jobs = excluded.jobs, success = excluded.success, failed = excluded.failed,
         duration_ms_sum = excluded.duration_ms_sum, rows_read = excluded.rows_read,
         rows_quarantined = excluded.rows_quarantined
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM done`,
    [since, now],
  );
  return rows[0]?.n ?? 0;
}

/** Jobs (and rows read, and run time) per hour from the roll-ups, for hours that have one. */
export function rolledUpHours(p: Platform, from: Date) {
  return p.database.query<HourTotals>(
    `SELECT hour, sum(success)::int AS success, sum(failed)::int AS failed, sum(jobs)::int AS total,
            sum(rows_read)::bigint AS rows, sum(duration_ms_sum)::bigint AS busy_ms
       FROM run_rollups WHERE hour >= $1 GROUP BY hour`,
    [from],
  );
}
