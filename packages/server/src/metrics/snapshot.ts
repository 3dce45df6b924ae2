import type { Platform } from '../platform.ts';
import { JOBS_QUEUE } from '../queue/boss.ts';

/**
 * Upper bounds (seconds) of the duration histograms' buckets: ETL runs last from under a second (a
 * shell task) to hours (a large load), so the buckets span 0.5 s to 6 h.
 */
export const DURATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600] as const;

/** Statuses after which a job's row, its steps' rows and their counts no longer change. */
export const FINISHED = ['success', 'failed', 'cancelled', 'timeout'] as const;

export interface Series {
  labels: Record<string, string>;
  value: number;
}

export interface HistogramSeries {
  labels: Record<string, string>;
  /** Cumulative: `buckets[i]` counts observations ≤ `DURATION_BUCKETS[i]`. */
  buckets: number[];
  count: number;
  /** Seconds. */
  sum: number;
}

/** What one scrape reports: the whole fleet's figures, read from the database. */
export interface Snapshot {
  jobs: Series[];
  steps: Series[];
  jobDurations: HistogramSeries[];
  stepDurations: HistogramSeries[];
  processed: Series[];
  quarantined: Series[];
  errors: Series[];
  activeJobs: number;
  queueDepth: number;
  workers: number;
}

/** A worker that has not beaten for this long is gone (it beats every 10 s). */
const WORKER_SILENCE_SECONDS = 30;

const FINISHED_SQL = FINISHED.map((s) => `'${s}'`).join(', ');

// Cumulative bucket counts as columns b0…bN: one pass over the rows, no per-row data leaves the
// database. `duration_ms <= x` is null for a null duration, so unmeasured rows count in no bucket.
const bucketColumns = (col: string) =>
  DURATION_BUCKETS.map((b, i) => `count(*) FILTER (WHERE ${col} <= ${b * 1000})::int AS b${i}`).join(',\n  ');

const JOBS_SQL = `
SELECT p.name AS pipeline, j.status, j.trigger_type, count(*)::int AS n,
  count(j.duration_ms)::int AS timed, coalesce(sum(j.duration_ms), 0)::float8 AS sum_ms,
  ${bucketColumns('j.duration_ms')}
FROM job_executions j JOIN pipelines p ON p.id = j.pipeline_id
WHERE j.status IN (${FINISHED_SQL})
GROUP BY 1, 2, 3`;

// A step's connector comes from the pipeline version its job ran, not from the step's report: a
// task step's report has no components, and a step that failed before it started has no report.
// A task step is labelled with its task connector; a flow step with its sink connector, once per
// sink when it fans out to several. The CTE reads each pipeline version's spec once (there are few
// versions and many steps) and the steps join it by (pipeline, version, step id).
const STEP_CONNECTORS_CTE = `
WITH step_connectors AS (
  SELECT v.pipeline_id, v.version, st->>'id' AS step_id, c.connector
  FROM pipeline_versions v
  CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(v.spec->'steps') = 'array' THEN v.spec->'steps' ELSE '[]'::jsonb END) st
  CROSS JOIN LATERAL (
    SELECT st->>'task' AS connector WHERE st->>'task' IS NOT NULL
    UNION ALL
    SELECT f->>'sink' FROM jsonb_array_elements(
      CASE WHEN jsonb_typeof(st->'flow') = 'array' THEN st->'flow' ELSE '[]'::jsonb END) f
    WHERE f->>'sink' IS NOT NULL
  ) c
)`;

const STEPS_SQL = `${STEP_CONNECTORS_CTE}
SELECT sc.connector, s.status, count(*)::int AS n,
  count(s.duration_ms)::int AS timed, coalesce(sum(s.duration_ms), 0)::float8 AS sum_ms,
  ${bucketColumns('s.duration_ms')}
FROM step_executions s
JOIN job_executions j ON j.id = s.job_id
JOIN step_connectors sc
  ON sc.pipeline_id = j.pipeline_id AND sc.version = j.pipeline_version AND sc.step_id = s.step_id
WHERE j.status IN (${FINISHED_SQL})
GROUP BY 1, 2`;

const ROWS_SQL = `
SELECT p.name AS pipeline, s.step_id AS step,
  coalesce(sum(s.rows_read), 0)::float8 AS processed,
  coalesce(sum(s.rows_quarantined), 0)::float8 AS quarantined
FROM step_executions s
JOIN job_executions j ON j.id = s.job_id
JOIN pipelines p ON p.id = j.pipeline_id
WHERE j.status IN (${FINISHED_SQL})
GROUP BY 1, 2`;

// One error per failure, counted where it happened: each failed step of a finished job, and each
// failed job none of whose steps failed (it failed around its steps: lost attempts, a bad spec).
const ERRORS_SQL = `
SELECT code AS type, count(*)::int AS n FROM (
  SELECT coalesce(s.error->>'code', 'UNKNOWN') AS code
  FROM step_executions s JOIN job_executions j ON j.id = s.job_id
  WHERE s.status = 'failed' AND j.status IN (${FINISHED_SQL})
  UNION ALL
  SELECT coalesce(j.error->>'code', 'UNKNOWN')
  FROM job_executions j
  WHERE j.status IN ('failed', 'timeout')
    AND NOT EXISTS (SELECT 1 FROM step_executions s WHERE s.job_id = j.id AND s.status = 'failed')
) e
GROUP BY 1`;

// Both gauges use an index (job_executions_status) or a table of one row per live process.
const GAUGES_SQL = `
SELECT (SELECT count(*)::int FROM job_executions WHERE status = 'running') AS active,
  (SELECT count(*)::int FROM workers
    WHERE last_seen_at >= now() - interval '${WORKER_SILENCE_SECONDS} seconds') AS workers`;

type TimedRow = { n: number; timed: number; sum_ms: number } & Record<`b${number}`, number>;

const bucketsOf = (r: TimedRow) => DURATION_BUCKETS.map((_, i) => Number(r[`b${i}`]));

/** Sums the rows' histograms per value of `key`. */
function histograms<R extends TimedRow>(rows: R[], key: keyof R & string): HistogramSeries[] {
  const by = new Map<string, HistogramSeries>();
  for (const r of rows) {
    const k = String(r[key]);
    const h = by.get(k) ?? {
      labels: { [key]: k },
      buckets: DURATION_BUCKETS.map(() => 0),
      count: 0,
      sum: 0,
    };
    const b = bucketsOf(r);
    h.buckets = h.buckets.map((v, i) => v + b[i]!);
    h.count += Number(r.timed);
    h.sum += Number(r.sum_ms) / 1000;
    by.set(k, h);
  }
  return [...by.values()];
}

/**
 * Reads every figure /metrics reports, in a handful of aggregate queries: rows are grouped and
 * counted in SQL, so a scrape costs a few sequential scans of the job and step tables and returns
 * a few rows per pipeline, connector or error code — never a row per job.
 */
export async function readSnapshot(p: Platform): Promise<Snapshot> {
  const q = p.database.query;
  // One query at a time: PGlite runs them one by one anyway, and a server's pool stays free for the API.
  const jobs = await q<TimedRow & { pipeline: string; status: string; trigger_type: string }>(JOBS_SQL);
  const steps = await q<TimedRow & { connector: string; status: string }>(STEPS_SQL);
  const rows = await q<{ pipeline: string; step: string; processed: number; quarantined: number }>(ROWS_SQL);
  const errors = await q<{ type: string; n: number }>(ERRORS_SQL);
  const [gauges] = await q<{ active: number; workers: number }>(GAUGES_SQL);
  // pg-boss keeps the queue's counts on its queue table (refreshed by its monitor pass, every 10 s
  // here): reading them costs one row, not a count over the job table.
  const queue = await p.queue.getQueueStats(JOBS_QUEUE).catch(() => []);
  return {
    jobs: jobs.map((r) => ({
      labels: { pipeline: r.pipeline, status: r.status, trigger_type: r.trigger_type },
      value: Number(r.n),
    })),
    steps: steps.map((r) => ({ labels: { connector: r.connector, status: r.status }, value: Number(r.n) })),
    jobDurations: histograms(jobs, 'pipeline'),
    stepDurations: histograms(steps, 'connector'),
    processed: rows.map((r) => ({
      labels: { pipeline: r.pipeline, step: r.step },
      value: Number(r.processed),
    })),
    quarantined: rows.map((r) => ({
      labels: { pipeline: r.pipeline, step: r.step },
      value: Number(r.quarantined),
    })),
    errors: errors.map((r) => ({ labels: { type: r.type }, value: Number(r.n) })),
    activeJobs: Number(gauges?.active ?? 0),
    workers: Number(gauges?.workers ?? 0),
    queueDepth: queue.reduce((a, s) => a + (s.queuedCount ?? 0), 0),
  };
}
