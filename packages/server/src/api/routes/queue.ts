import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import { getJob, jobView, listJobs, retryJob } from '../../services/jobs.ts';
import { livePipeline } from '../../services/pipelines.ts';
import { statsOf } from '../../services/stats.ts';
import { dashboardSummary } from '../../services/summary.ts';
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
      rows: Type.Integer({ description: "Rows read by the steps of the hour's jobs." }),
      busyMs: Type.Integer({
        description:
          "Run time of the hour's finished jobs, summed: rows / (busyMs / 1000) is rows/s while running.",
      }),
    }),
    { description: 'Jobs created in each of the last 24 hours, oldest first (hours with none included).' },
  ),
  failuresByPipeline: Type.Array(
    Type.Object({
      pipelineId: Type.String(),
      pipelineName: Type.String(),
      failed: Type.Integer({ description: 'Failed or timed-out jobs in the last 24 hours.' }),
      jobs: Type.Integer({ description: 'All jobs of the pipeline in the last 24 hours.' }),
      lastFailedAt: Type.String({ format: 'date-time' }),
    }),
    { description: 'The pipelines with the most failed jobs in the last 24 hours (at most 5), most first.' },
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
      async () => dashboardSummary(p),
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
