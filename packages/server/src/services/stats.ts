import type { Platform } from '../platform.ts';

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/**
 * Run figures over the last `days`: of one pipeline's jobs, or of the steps whose components used
 * a connector (found in the step reports the engine wrote).
 */
export async function statsOf(p: Platform, by: 'job' | 'connector', key: string, days: number) {
  const since = new Date(Date.now() - days * 86_400_000);
  const rows =
    by === 'job'
      ? await p.database.query<Record<string, unknown>>(
          `SELECT count(*) AS jobs,
             count(*) FILTER (WHERE j.status = 'success') AS success,
             count(*) FILTER (WHERE j.status IN ('failed', 'timeout')) AS failed,
             avg(j.duration_ms) AS mean, percentile_cont(0.95) WITHIN GROUP (ORDER BY j.duration_ms) AS p95,
             max(j.created_at) AS last,
             (SELECT coalesce(sum(s.rows_read), 0) FROM step_executions s JOIN job_executions x ON x.id = s.job_id
               WHERE x.pipeline_id = $1 AND x.created_at >= $2) AS read,
             (SELECT coalesce(sum(s.rows_written), 0) FROM step_executions s JOIN job_executions x ON x.id = s.job_id
               WHERE x.pipeline_id = $1 AND x.created_at >= $2) AS written,
             (SELECT coalesce(sum(s.rows_quarantined), 0) FROM step_executions s JOIN job_executions x ON x.id = s.job_id
               WHERE x.pipeline_id = $1 AND x.created_at >= $2) AS quarantined
           FROM job_executions j WHERE j.pipeline_id = $1 AND j.created_at >= $2`,
          [key, since.toISOString()],
        )
      : await p.database.query<Record<string, unknown>>(
          `SELECT count(*) AS jobs,
             count(*) FILTER (WHERE s.status = 'success') AS success,
             count(*) FILTER (WHERE s.status = 'failed') AS failed,
             avg(s.duration_ms) AS mean, percentile_cont(0.95) WITHIN GROUP (ORDER BY s.duration_ms) AS p95,
             max(s.started_at) AS last,
             coalesce(sum(s.rows_read), 0) AS read, coalesce(sum(s.rows_written), 0) AS written,
             coalesce(sum(s.rows_quarantined), 0) AS quarantined
           FROM step_executions s
           WHERE s.started_at >= $2 AND s.report IS NOT NULL
             AND EXISTS (SELECT 1 FROM jsonb_array_elements(s.report->'components') c WHERE c->>'connector' = $1)`,
          [key, since.toISOString()],
        );
  const r = rows[0]!;
  const jobs = Number(r.jobs);
  const success = Number(r.success);
  const done = success + Number(r.failed);
  const last = r.last as Date | string | null;
  return {
    jobs,
    success,
    failed: Number(r.failed),
    successRate: done > 0 ? success / done : null,
    meanDurationMs: num(r.mean),
    p95DurationMs: num(r.p95),
    rowsRead: Number(r.read),
    rowsWritten: Number(r.written),
    rowsQuarantined: Number(r.quarantined),
    lastRunAt: last === null ? null : new Date(last).toISOString(),
  };
}
