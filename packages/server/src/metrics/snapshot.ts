import type { Platform } from '../platform.ts';
import { queuedJobs } from '../queue/boss.ts';

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
  /** What components counted themselves (ComponentStats.counters: a lookup's cache hits, say). */
  componentCounters: Series[];
  /** Flows from a queue (docs/streaming.md): rows read, running or not; lag and last checkpoint while running. */
  streamRows: Series[];
  streamLag: Series[];
  streamCheckpoint: Series[];
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
// sink when it fans out to several. This reads the specs of every version (there are few), apart
// from the steps: joined to the step rows in SQL, the jsonb functions' row estimates made the
// planner pick a nested loop and JIT-compile it (measured: 5 s of a 6 s scrape on 400k steps).
const CONNECTORS_SQL = `
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
) c`;

// One pass over the steps of finished jobs, grouped by pipeline version, step, status and error
// code: the step counters, histograms, rows and step errors all come from these few rows.
const STEPS_SQL = `
SELECT j.pipeline_id, j.pipeline_version AS version, p.name AS pipeline, s.step_id, s.status,
  CASE WHEN s.status = 'failed' THEN coalesce(s.error->>'code', 'UNKNOWN') END AS error,
  count(*)::int AS n, count(s.duration_ms)::int AS timed, coalesce(sum(s.duration_ms), 0)::float8 AS sum_ms,
  coalesce(sum(s.rows_read), 0)::float8 AS processed,
  coalesce(sum(s.rows_quarantined), 0)::float8 AS quarantined,
  ${bucketColumns('s.duration_ms')}
FROM step_executions s
JOIN job_executions j ON j.id = s.job_id
JOIN pipelines p ON p.id = j.pipeline_id
WHERE j.status IN (${FINISHED_SQL})
GROUP BY 1, 2, 3, 4, 5, 6`;

// One error per failure, counted where it happened: each failed step of a finished job (above),
// and each failed job none of whose steps failed (it failed around its steps: lost attempts).
const JOB_ERRORS_SQL = `
SELECT coalesce(j.error->>'code', 'UNKNOWN') AS type, count(*)::int AS n
FROM job_executions j
WHERE j.status IN ('failed', 'timeout')
  AND NOT EXISTS (SELECT 1 FROM step_executions s WHERE s.job_id = j.id AND s.status = 'failed')
GROUP BY 1`;

// Components' own counters, from the reports of finished steps: only reports holding a counter
// are expanded (the containment test skips the rest before any jsonb is unnested), and the sums
// leave the database as a few rows per pipeline, step, component and counter.
const COUNTERS_SQL = `
SELECT p.name AS pipeline, s.step_id, c->>'id' AS component, k.key AS name, sum(k.value::float8) AS n
FROM step_executions s
JOIN job_executions j ON j.id = s.job_id
JOIN pipelines p ON p.id = j.pipeline_id
CROSS JOIN LATERAL jsonb_array_elements(s.report->'components') c
CROSS JOIN LATERAL jsonb_each_text(c->'counters') k
WHERE j.status IN (${FINISHED_SQL})
  AND s.report @> '{"components": [{"counters": {}}]}'
  AND jsonb_typeof(c->'counters') = 'object'
GROUP BY 1, 2, 3, 4`;

// Streams are read while they run, not only once finished: a stream may run for days. Their steps
// are few (one job per streaming pipeline at a time); the flag is on the step row.
const STREAMS_SQL = `
SELECT p.name AS pipeline, s.step_id, coalesce(sum(s.rows_read), 0)::float8 AS rows,
  sum(s.lag) FILTER (WHERE s.status = 'running')::float8 AS lag,
  extract(epoch FROM max(s.checkpointed_at) FILTER (WHERE s.status = 'running'))::float8 AS checkpointed
FROM step_executions s
JOIN job_executions j ON j.id = s.job_id
JOIN pipelines p ON p.id = j.pipeline_id
WHERE s.streaming
GROUP BY 1, 2`;

// Both gauges use an index (job_executions_status) or a table of one row per live process.
const GAUGES_SQL = `
SELECT (SELECT count(*)::int FROM job_executions WHERE status = 'running') AS active,
  (SELECT count(*)::int FROM workers
    WHERE last_seen_at >= now() - interval '${WORKER_SILENCE_SECONDS} seconds') AS workers`;

type TimedRow = { n: number; timed: number; sum_ms: number } & Record<`b${number}`, number>;

interface StepRow extends TimedRow {
  pipeline_id: string;
  version: number;
  pipeline: string;
  step_id: string;
  status: string;
  error: string | null;
  processed: number;
  quarantined: number;
}

/** Sums rows into series keyed by their labels; `add` folds one row into a series' value. */
function sumBy<R, V>(
  rows: Iterable<R>,
  labels: (r: R) => Record<string, string>,
  zero: () => V,
  add: (v: V, r: R) => V,
) {
  const by = new Map<string, { labels: Record<string, string>; value: V }>();
  for (const r of rows) {
    const l = labels(r);
    const k = JSON.stringify(l);
    const e = by.get(k) ?? { labels: l, value: zero() };
    e.value = add(e.value, r);
    by.set(k, e);
  }
  return [...by.values()];
}

const emptyHistogram = () => ({ buckets: DURATION_BUCKETS.map(() => 0), count: 0, sum: 0 });
const addTimed = (h: Omit<HistogramSeries, 'labels'>, r: TimedRow) => ({
  buckets: h.buckets.map((v, i) => v + Number(r[`b${i}`])),
  count: h.count + Number(r.timed),
  sum: h.sum + Number(r.sum_ms) / 1000,
});
const histograms = <R extends TimedRow>(rows: Iterable<R>, labels: (r: R) => Record<string, string>) =>
  sumBy(rows, labels, emptyHistogram, addTimed).map(({ labels, value }) => ({ labels, ...value }));
const counts = <R>(rows: Iterable<R>, labels: (r: R) => Record<string, string>, n: (r: R) => number) =>
  sumBy(
    rows,
    labels,
    () => 0,
    (v, r) => v + n(r),
  );

/**
 * Reads every figure /metrics reports, in a handful of aggregate queries: rows are grouped and
 * counted in SQL, so a scrape costs a few sequential scans of the job and step tables and returns
 * a few rows per pipeline, connector or error code — never a row per job.
 */
export async function readSnapshot(p: Platform): Promise<Snapshot> {
  const q = p.database.query;
  // One query at a time: PGlite runs them one by one anyway, and a server's pool stays free for the API.
  const jobs = await q<TimedRow & { pipeline: string; status: string; trigger_type: string }>(JOBS_SQL);
  const steps = await q<StepRow>(STEPS_SQL);
  const mapping = await q<{ pipeline_id: string; version: number; step_id: string; connector: string }>(
    CONNECTORS_SQL,
  );
  const jobErrors = await q<{ type: string; n: number }>(JOB_ERRORS_SQL);
  const counters = await q<{ pipeline: string; step_id: string; component: string; name: string; n: number }>(
    COUNTERS_SQL,
  );
  const streams = await q<{
    pipeline: string;
    step_id: string;
    rows: number;
    lag: number | null;
    checkpointed: number | null;
  }>(STREAMS_SQL);
  const [gauges] = await q<{ active: number; workers: number }>(GAUGES_SQL);
  // pg-boss keeps the queue's counts on its queue table (refreshed by its monitor pass, every 10 s
  // here): reading them costs one row, not a count over the job table.
  const queueDepth = await queuedJobs(p.queue).catch(() => 0);

  const connectors = new Map<string, string[]>();
  for (const m of mapping) {
    const k = `${m.pipeline_id}/${m.version}/${m.step_id}`;
    connectors.set(k, [...(connectors.get(k) ?? []), m.connector]);
  }
  // A step row once per connector of its step (a flow with two sinks counts under both).
  const byConnector = steps.flatMap((r) =>
    (connectors.get(`${r.pipeline_id}/${r.version}/${r.step_id}`) ?? ['unknown']).map((connector) => ({
      ...r,
      connector,
    })),
  );
  const step = (r: StepRow) => ({ pipeline: r.pipeline, step: r.step_id });
  return {
    jobs: counts(
      jobs,
      (r) => ({ pipeline: r.pipeline, status: r.status, trigger_type: r.trigger_type }),
      (r) => Number(r.n),
    ),
    steps: counts(
      byConnector,
      (r) => ({ connector: r.connector, status: r.status }),
      (r) => Number(r.n),
    ),
    jobDurations: histograms(jobs, (r) => ({ pipeline: r.pipeline })),
    stepDurations: histograms(byConnector, (r) => ({ connector: r.connector })),
    processed: counts(steps, step, (r) => Number(r.processed)),
    quarantined: counts(steps, step, (r) => Number(r.quarantined)),
    errors: counts(
      [...steps.filter((r) => r.error !== null).map((r) => ({ type: r.error!, n: r.n })), ...jobErrors],
      (r) => ({ type: r.type }),
      (r) => Number(r.n),
    ),
    componentCounters: counters.map((r) => ({
      labels: { pipeline: r.pipeline, step: r.step_id, component: r.component, name: r.name },
      value: Number(r.n),
    })),
    streamRows: streams.map((r) => ({
      labels: { pipeline: r.pipeline, step: r.step_id },
      value: Number(r.rows),
    })),
    streamLag: streams.flatMap((r) =>
      r.lag === null ? [] : [{ labels: { pipeline: r.pipeline, step: r.step_id }, value: Number(r.lag) }],
    ),
    streamCheckpoint: streams.flatMap((r) =>
      r.checkpointed === null
        ? []
        : [{ labels: { pipeline: r.pipeline, step: r.step_id }, value: Number(r.checkpointed) }],
    ),
    activeJobs: Number(gauges?.active ?? 0),
    workers: Number(gauges?.workers ?? 0),
    queueDepth,
  };
}
