import { Type } from '@sinclair/typebox';
import { and, count, gte, sql } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import { jobExecutions, workers } from '../../db/schema.ts';
import type { Platform } from '../../platform.ts';
import { JOBS_QUEUE } from '../../queue/boss.ts';
import { getJob, jobView, listJobs, retryJob } from '../../services/jobs.ts';
import { livePipeline } from '../../services/pipelines.ts';
import { statsOf } from '../../services/stats.ts';
import { rolledUpHours } from '../../services/system-tasks.ts';
import { conflict } from '../errors.ts';
import { NAME_MAX, Text } from '../fields.ts';
import { ErrorBody, IdParams, Page } from '../pagination.ts';
import { JobSchema } from '../schemas.ts';
import { type JobFilter, JobQuery } from './jobs.ts';

const Summary = Type.Object({
  jobsLastHour: Type.Integer(),
  successRate: Type.Union([Type.Number(), Type.Null()]),
  meanDurationMs: Type.Union([Type.Number(), Type.Null()]),
  p95DurationMs: Type.Union([Type.Number(), Type.Null()]),
  queueDepth: Type.Integer(),
  running: Type.Integer(),
  workers: Type.Integer(),
  hourly: Type.Array(
    Type.Object({
      hour: Type.String({ format: 'date-time' }),
      success: Type.Integer(),
      failed: Type.Integer(),
      total: Type.Integer(),
    }),
    { description: 'Jobs created in each of the last 24 hours, oldest first (hours with none included).' },
  ),
});

export const queueRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/dlq',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: 'Jobs that used all their attempts (the dead-letter queue)',
          tags: ['dead-letter queue'],
          querystring: JobQuery,
          response: { 200: Page(JobSchema), 400: ErrorBody },
        },
      },
      async (req) => {
        const q = req.query as JobFilter;
        return { ...(await listJobs(p, { ...q, deadLettered: true })), limit: q.limit, offset: q.offset };
      },
    );
    app.post(
      '/dlq/:id/requeue',
      {
        config: { access: 'jobs:retry', audit: { action: 'job.requeue', resourceType: 'job' } },
        schema: {
          summary: 'Run a dead-lettered job again from its failed step, with a fresh budget of attempts',
          tags: ['dead-letter queue'],
          params: IdParams,
          response: { 202: JobSchema, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (req, reply) => {
        const job = await getJob(p, (req.params as { id: string }).id);
        if (!job.deadLetteredAt) throw conflict(`job ${job.id} is not in the dead-letter queue`);
        return reply.status(202).send(jobView(await retryJob(p, job.id, true)));
      },
    );
    app.get(
      '/metrics/summary',
      {
        config: { access: 'metrics:read' },
        schema: {
          summary: 'The last 24 hours at a glance: jobs, success rate, durations, queue and workers',
          tags: ['metrics'],
          response: { 200: Summary },
        },
      },
      async () => {
        const db = p.database.db;
        const since = new Date(Date.now() - 24 * 3600_000);
        const [stats] = await db
          .select({
            done: sql<number>`count(*) FILTER (WHERE ${jobExecutions.completedAt} IS NOT NULL)`.mapWith(
              Number,
            ),
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
          .where(gte(jobExecutions.createdAt, new Date(Date.now() - 3600_000)));
        const [alive] = await db
          .select({ n: count() })
          .from(workers)
          .where(and(gte(workers.lastSeenAt, new Date(Date.now() - 30_000))));
        const queue = await p.queue.getQueueStats(JOBS_QUEUE).catch(() => []);
        const top = Math.floor(Date.now() / 3600_000) * 3600_000;
        const live = new Date(top - 3600_000);
        const hours = await p.database.query<{
          hour: Date | string;
          success: number;
          failed: number;
          total: number;
        }>(
          `SELECT date_trunc('hour', created_at) AS hour,
                  count(*) FILTER (WHERE status = 'success')::int AS success,
                  count(*) FILTER (WHERE status IN ('failed', 'timeout'))::int AS failed,
                  count(*)::int AS total
             FROM job_executions WHERE created_at >= $1 GROUP BY 1`,
          [live],
        );
        // Older hours come from the hourly roll-up (kept after retention); the last two, still
        // changing, straight from the jobs.
        const byHour = new Map(
          [...(await rolledUpHours(p, since)), ...hours].map((h) => [new Date(h.hour).getTime(), h]),
        );
        const hourly = Array.from({ length: 24 }, (_, i) => {
          const t = top - (23 - i) * 3600_000;
          const h = byHour.get(t);
          return {
            hour: new Date(t).toISOString(),
            success: h?.success ?? 0,
            failed: h?.failed ?? 0,
            total: h?.total ?? 0,
          };
        });
        return {
          jobsLastHour: hour!.n,
          successRate: stats!.done > 0 ? stats!.ok / stats!.done : null,
          meanDurationMs: stats!.mean,
          p95DurationMs: stats!.p95,
          queueDepth: queue.reduce((a, q) => a + (q.queuedCount ?? 0), 0),
          running: stats!.running,
          workers: alive!.n,
          hourly,
        };
      },
    );
    const Stats = Type.Object({
      jobs: Type.Integer(),
      success: Type.Integer(),
      failed: Type.Integer(),
      successRate: Type.Union([Type.Number(), Type.Null()]),
      meanDurationMs: Type.Union([Type.Number(), Type.Null()]),
      p95DurationMs: Type.Union([Type.Number(), Type.Null()]),
      rowsRead: Type.Integer(),
      rowsWritten: Type.Integer(),
      rowsQuarantined: Type.Integer(),
      lastRunAt: Type.Union([Type.String(), Type.Null()]),
    });
    const Window = Type.Object({ days: Type.Integer({ minimum: 1, maximum: 365, default: 7 }) });
    app.get(
      '/metrics/pipelines/:id',
      {
        config: { access: 'metrics:read' },
        schema: {
          summary: "One pipeline's runs over the last days",
          tags: ['metrics'],
          params: IdParams,
          querystring: Window,
          response: { 200: Stats, 404: ErrorBody },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        await livePipeline(p, id);
        return statsOf(p, 'job', id, (req.query as { days: number }).days);
      },
    );
    app.get(
      '/metrics/connectors/:name',
      {
        config: { access: 'metrics:read' },
        schema: {
          summary: 'Steps that used a connector, over the last days',
          tags: ['metrics'],
          params: Type.Object({ name: Text(NAME_MAX, { minLength: 1 }) }),
          querystring: Window,
          response: { 200: Stats },
        },
      },
      async (req) =>
        statsOf(p, 'connector', (req.params as { name: string }).name, (req.query as { days: number }).days),
    );
  };
