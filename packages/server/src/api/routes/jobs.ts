import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { JOB_STATUSES, TRIGGER_TYPES } from '../../db/schema.ts';
import type { Platform } from '../../platform.ts';
import { getArtifact, listArtifacts } from '../../services/artifacts.ts';
import { afterBackfillJob } from '../../services/backfills.ts';
import {
  cancelJob,
  getJob,
  getJobView,
  jobView,
  listJobs,
  listSteps,
  retryJob,
  stepView,
} from '../../services/jobs.ts';
import { readLog } from '../../services/logs.ts';
import { partitionViews } from '../../services/partitions.ts';
import { notFound } from '../errors.ts';
import { DateTime, NAME_MAX, Slug, Text, Uuid } from '../fields.ts';
import { ErrorBody, IdParams, Page, PageQuery, pageQuery } from '../pagination.ts';
import { JobSchema, LogLineSchema, PartitionSchema, StepSchema } from '../schemas.ts';
import { optionalBody } from '../validation.ts';

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const tags = ['jobs'];
const lit = <T extends readonly string[]>(xs: T) => Type.Union(xs.map((x) => Type.Literal(x)));
const LogQuery = Type.Composite([
  pageQuery(5000, 500),
  Type.Object({
    level: Type.Optional(lit(['DEBUG', 'INFO', 'WARN', 'ERROR'] as const)),
    search: Type.Optional(Text(NAME_MAX)),
  }),
]);
const LogPage = Page(LogLineSchema);

/** Filters of the job lists (/jobs, /dlq). */
export const JobQuery = Type.Composite([
  PageQuery,
  Type.Object({
    status: Type.Optional(lit(JOB_STATUSES)),
    pipelineId: Type.Optional(Uuid()),
    triggerType: Type.Optional(lit(TRIGGER_TYPES)),
    from: Type.Optional(DateTime({ description: 'Created at or after.' })),
    to: Type.Optional(DateTime({ description: 'Created at or before.' })),
  }),
]);
export type JobFilter = Parameters<typeof listJobs>[1];
type LogQ = { limit: number; offset: number; level?: string; search?: string };

export const jobRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/jobs',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: 'List jobs, newest first',
          tags,
          querystring: JobQuery,
          response: { 200: Page(JobSchema), 400: ErrorBody },
        },
      },
      async (req) => {
        const q = req.query as JobFilter;
        return { ...(await listJobs(p, q)), limit: q.limit, offset: q.offset };
      },
    );
    app.get(
      '/jobs/:id',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: 'A job: status, timings, trigger, parameters, integrity',
          tags,
          params: IdParams,
          response: { 200: JobSchema, ...errors },
        },
      },
      async (req) => getJobView(p, (req.params as { id: string }).id),
    );
    app.post(
      '/jobs/:id/cancel',
      {
        config: { access: 'jobs:cancel', audit: { action: 'job.cancel', resourceType: 'job' } },
        schema: {
          summary: 'Cancel a queued or running job',
          tags,
          params: IdParams,
          response: { 200: JobSchema, ...errors },
        },
      },
      async (req) => {
        const job = await cancelJob(p, (req.params as { id: string }).id);
        await afterBackfillJob(p, job.backfillId); // a queued job's slot is free at once
        return jobView(job);
      },
    );
    app.post(
      '/jobs/:id/retry',
      {
        config: { access: 'jobs:retry', audit: { action: 'job.retry', resourceType: 'job' } },
        preValidation: optionalBody,
        schema: {
          summary: 'Run a failed job again, from its failed step (default) or from the start',
          tags,
          params: IdParams,
          body: Type.Optional(Type.Object({ fromFailedStep: Type.Boolean({ default: true }) })),
          response: { 202: Type.Object({ jobId: Type.String() }), ...errors },
        },
      },
      async (req, reply) => {
        const body = (req.body ?? {}) as { fromFailedStep?: boolean };
        const j = await retryJob(p, (req.params as { id: string }).id, body.fromFailedStep ?? true);
        return reply.status(202).send({ jobId: j.id });
      },
    );
    app.get(
      '/jobs/:id/steps',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: 'The steps of a job',
          tags,
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(StepSchema) }), ...errors },
        },
      },
      async (req) => ({ items: (await listSteps(p, (req.params as { id: string }).id)).map(stepView) }),
    );
    app.get(
      '/jobs/:id/partitions',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: 'The partitions of the partitioned steps of a job (docs/partitions.md)',
          tags,
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(PartitionSchema) }), ...errors },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        await getJob(p, id); // 404 for a job that does not exist, not an empty list
        return { items: await partitionViews(p, id) };
      },
    );
    const StepParams = Type.Object({ id: Uuid(), stepId: Slug() });
    app.get(
      '/jobs/:id/steps/:stepId',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: 'One step of a job, with its report',
          tags,
          params: StepParams,
          response: { 200: StepSchema, ...errors },
        },
      },
      async (req) => {
        const { id, stepId } = req.params as { id: string; stepId: string };
        const s = (await listSteps(p, id)).find((x) => x.stepId === stepId);
        if (!s) throw notFound(`step "${stepId}" of job`, id);
        return stepView(s);
      },
    );
    const ArtifactSchema = Type.Object({
      name: Type.String(),
      kind: Type.String(),
      stepId: Type.Union([Type.String(), Type.Null()]),
      size: Type.Integer(),
      sha256: Type.Union([Type.String({ description: 'hex SHA-256 of what was stored' }), Type.Null()], {
        description: 'null for the log, which grows by appends',
      }),
      contentType: Type.String(),
      createdAt: Type.String({ format: 'date-time' }),
    });
    app.get(
      '/jobs/:id/artifacts',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: "A job's artifacts: its log, each step's report and quarantined rows",
          tags,
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(ArtifactSchema) }), ...errors },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        await getJob(p, id);
        return { items: await listArtifacts(p, id) };
      },
    );
    app.get(
      '/jobs/:id/artifacts/:name',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: 'Download one artifact',
          tags,
          params: Type.Object({ id: Uuid(), name: Text(1000, { minLength: 1 }) }),
          response: { 404: ErrorBody },
        },
      },
      async (req, reply) => {
        const { id, name } = req.params as { id: string; name: string };
        const a = await getArtifact(p, id, name);
        return reply
          .type(a.contentType)
          .header('content-disposition', `attachment; filename="${a.name.replaceAll('"', '')}"`)
          .send(p.store.read(a.storageKey));
      },
    );
    app.get(
      '/jobs/:id/logs',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: "A job's log lines, filtered by level, step and text",
          tags,
          params: IdParams,
          querystring: Type.Composite([LogQuery, Type.Object({ stepId: Type.Optional(Slug()) })]),
          response: { 200: LogPage, ...errors },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        await getJob(p, id);
        const q = req.query as LogQ & { stepId?: string };
        return readLog(p, id, q);
      },
    );
    app.get(
      '/jobs/:id/steps/:stepId/logs',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: "One step's log lines",
          tags,
          params: StepParams,
          querystring: LogQuery,
          response: { 200: LogPage, ...errors },
        },
      },
      async (req) => {
        const { id, stepId } = req.params as { id: string; stepId: string };
        await getJob(p, id);
        return readLog(p, id, { ...(req.query as LogQ), stepId });
      },
    );
  };
