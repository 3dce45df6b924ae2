import { and, count, gte, sql } from 'drizzle-orm';
import { jobExecutions, workers } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { queuedJobs } from '../queue/boss.ts';
import { rolledUpHours } from './system-tasks.ts';

const HOUR = 3_600_000;
/** How many pipelines the dashboard's "failures by pipeline" lists. */
const FAILING_PIPELINES = 5;

export interface HourTotals {
  hour: Date | string;
  success: number;
  failed: number;
  total: number;
  /** Rows read by the steps of the hour's jobs. */
  rows: number | string;
  /** Run time of the hour's finished jobs, summed. */
  busy_ms: number | string;
}

/**
 * The dashboard's figures for the last 24 hours: jobs, success rate, durations, queue, workers, jobs
 * and rows per hour, and the pipelines that failed most.
 */
export async function dashboardSummary(p: Platform) {
  const db = p.database.db;
  const now = Date.now();
  const since = new Date(now - 24 * HOUR);
  const [stats] = await db
    .select({
      done: sql<number>`count(*) FILTER (WHERE ${jobExecutions.completedAt} IS NOT NULL)`.mapWith(Number),
      ok: sql<number>`count(*) FILTER (WHERE ${jobExecutions.status} = 'success')`.mapWith(Number),
      mean: sql<number | null>`avg(${jobExecutions.durationMs})`.mapWith((v) =>
        v === null ? null : Number(v),
      ),
      p95: sql<
        number | null
      >`percentile_cont(0.95) WITHIN GROUP (ORDER BY ${jobExecutions.durationMs})`.mapWith((v) =>
        v === null ? null : Number(v),
      ),
      running: sql<number>`count(*) FILTER (WHERE ${jobExecutions.status} = 'running')`.mapWith(Number),
    })
    .from(jobExecutions)
    .where(gte(jobExecutions.createdAt, since));
  const [hour] = await db
    .select({ n: count() })
    .from(jobExecutions)
    .where(gte(jobExecutions.createdAt, new Date(now - HOUR)));
  const [alive] = await db
    .select({ n: count() })
    .from(workers)
    .where(and(gte(workers.lastSeenAt, new Date(now - 30_000))));
  const queueDepth = await queuedJobs(p.queue).catch(() => 0);
  const top = Math.floor(now / HOUR) * HOUR;
  // Older hours come from the hourly roll-up (kept after retention); the last two, still
  // changing, straight from the jobs.
  const byHour = new Map(
    [...(await rolledUpHours(p, since)), ...(await liveHours(p, new Date(top - HOUR)))].map((h) => [
      new Date(h.hour).getTime(),
      h,
    ]),
  );
  const hourly = Array.from({ length: 24 }, (_, i) => {
    const t = top - (23 - i) * HOUR;
    const h = byHour.get(t);
    return {
      hour: new Date(t).toISOString(),
      success: h?.success ?? 0,
      failed: h?.failed ?? 0,
      total: h?.total ?? 0,
      rows: Number(h?.rows ?? 0),
      busyMs: Number(h?.busy_ms ?? 0),
    };
  });
  return {
    jobsLastHour: hour!.n,
    successRate: stats!.done > 0 ? stats!.ok / stats!.done : null,
    meanDurationMs: stats!.mean,
    p95DurationMs: stats!.p95,
    queueDepth,
    running: stats!.running,
    workers: alive!.n,
    hourly,
    failuresByPipeline: await failuresByPipeline(p, since),
  };
}

/** Jobs per hour since `from`, counted from the jobs table (the same figures the roll-up keeps). */
function liveHours(p: Platform, from: Date) {
  return p.database.query<HourTotals>(
    `WITH steps AS (
       SELECT job_id, sum(rows_read) AS rows_read FROM step_executions
        WHERE job_id IN (SELECT id FROM job_executions WHERE created_at >= $1)
        GROUP BY job_id
     )
     SELECT date_trunc('hour', j.created_at) AS hour,
            count(*) FILTER (WHERE j.status = 'success')::int AS success,
            count(*) FILTER (WHERE j.status IN ('failed', 'timeout'))::int AS failed,
            count(*)::int AS total,
            coalesce(sum(s.rows_read), 0)::bigint AS rows,
            coalesce(sum(j.duration_ms), 0)::bigint AS busy_ms
       FROM job_executions j LEFT JOIN steps s ON s.job_id = j.id
      WHERE j.created_at >= $1 GROUP BY 1`,
    [from],
  );
}

/** The pipelines with the most failed (or timed-out) jobs since `from`, most failures first. */
async function failuresByPipeline(p: Platform, from: Date) {
  const rows = await p.database.query<{
    pipeline_id: string;
    name: string;
    failed: number;
    jobs: number;
    last: Date | string;
  }>(
    `SELECT j.pipeline_id, pl.name,
            count(*) FILTER (WHERE j.status IN ('failed', 'timeout'))::int AS failed,
            count(*)::int AS jobs,
            max(coalesce(j.completed_at, j.created_at)) FILTER (WHERE j.status IN ('failed', 'timeout')) AS last
       FROM job_executions j JOIN pipelines pl ON pl.id = j.pipeline_id
      WHERE j.created_at >= $1
      GROUP BY j.pipeline_id, pl.name
     HAVING count(*) FILTER (WHERE j.status IN ('failed', 'timeout')) > 0
      ORDER BY failed DESC, last DESC
      LIMIT ${FAILING_PIPELINES}`,
    [from],
  );
  return rows.map((r) => ({
    pipelineId: r.pipeline_id,
    pipelineName: r.name,
    failed: r.failed,
    jobs: r.jobs,
    lastFailedAt: new Date(r.last).toISOString(),
  }));
}
