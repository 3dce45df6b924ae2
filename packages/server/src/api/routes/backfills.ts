import { Type } from '@sinclair/typebox';
import { ConfigError, toSluiceError } from '@sluice/core';
import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import { backfillIntervals, EVERY, type Every } from '../../scheduler/intervals.ts';
import {
  cancelBackfill,
  createBackfill,
  getBackfill,
  getBackfillDetail,
  listBackfills,
} from '../../services/backfills.ts';
import { backfillSchedule } from '../../services/schedule-backfill.ts';
import { Text } from '../fields.ts';
import { ErrorBody, IdParams, Page, PageQuery } from '../pagination.ts';
import { BackfillDetailSchema, BackfillSchema } from '../schemas.ts';
import { actor } from './pipelines.ts';

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const tags = ['backfills'];
const Concurrency = Type.Integer({
  minimum: 1,
  maximum: 100,
  default: 1,
  description: 'Jobs of the backfill queued or running at once; the other intervals wait.',
});
const Params = Type.Record(Type.String(), Type.Unknown(), {
  description: "Parameters every run gets, besides its interval's date, start and end.",
});
const Create = Type.Object({
  from: Text(40, {
    description: 'First interval start: a date (2026-11-01) or, for hours, a local time (2026-11-01T05:00).',
  }),
  to: Text(40, { description: 'Exclusive end: intervals starting before it run.' }),
  every: Type.Union(
    EVERY.map((e) => Type.Literal(e)),
    { description: 'Interval length, aligned to the calendar (weeks start on Monday, months on the 1st).' },
  ),
  concurrency: Type.Optional(Concurrency),
  params: Type.Optional(Params),
  timezone: Type.Optional(
    Text(100, { description: 'IANA time zone the dates are in, e.g. "Europe/Lisbon".', default: 'UTC' }),
  ),
});
const FromSchedule = Type.Object({
  from: Type.Optional(
    Text(40, { description: "Slots after this instant (ISO 8601); default the schedule's last run." }),
  ),
  to: Type.Optional(Text(40, { description: 'Slots up to this instant, inclusive; default now.' })),
  concurrency: Type.Optional(Concurrency),
  params: Type.Optional(Params),
});

/** Issues about the body's fields, at their place in the request. */
function inBody<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof ConfigError)
      throw new ConfigError(
        err.message,
        err.issues.map((i) => ({ ...i, path: `body.${i.path}` })),
        toSluiceError(err).code,
      );
    throw err;
  }
}

export const backfillRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.post(
      '/pipelines/:id/backfill',
      {
        config: {
          access: 'backfills:write',
          audit: { action: 'pipeline.backfill', resourceType: 'pipeline' },
        },
        schema: {
          summary: 'Run a pipeline once per interval of a date range, a few at a time',
          tags,
          params: IdParams,
          body: Create,
          response: { 201: BackfillSchema, ...errors },
        },
      },
      async (req, reply) => {
        const b = req.body as {
          from: string;
          to: string;
          every: Every;
          concurrency?: number;
          params?: Record<string, unknown>;
          timezone?: string;
        };
        const timezone = b.timezone ?? 'UTC';
        const intervals = inBody(() =>
          backfillIntervals({ from: b.from, to: b.to, every: b.every, timezone }),
        );
        const view = await createBackfill(
          p,
          {
            pipelineId: (req.params as { id: string }).id,
            intervals,
            every: b.every,
            from: b.from,
            to: b.to,
            timezone,
            ...(b.concurrency === undefined ? {} : { concurrency: b.concurrency }),
            ...(b.params ? { parameters: b.params } : {}),
          },
          actor(req),
        );
        return reply.status(201).send(view);
      },
    );
    app.post(
      '/schedules/:id/backfill',
      {
        config: {
          access: 'backfills:write',
          audit: { action: 'schedule.backfill', resourceType: 'schedule' },
        },
        schema: {
          summary: "Run a schedule's missed slots (since its last run, by default), one job per slot",
          tags,
          params: IdParams,
          body: FromSchedule,
          response: { 201: BackfillSchema, ...errors },
        },
      },
      async (req, reply) =>
        reply
          .status(201)
          .send(
            await backfillSchedule(
              p,
              (req.params as { id: string }).id,
              req.body as { from?: string; to?: string },
              actor(req),
            ),
          ),
    );
    app.get(
      '/pipelines/:id/backfills',
      {
        config: { access: 'backfills:read' },
        schema: {
          summary: "A pipeline's backfills with their progress, newest first",
          tags,
          params: IdParams,
          querystring: PageQuery,
          response: { 200: Page(BackfillSchema), ...errors },
        },
      },
      async (req) => {
        const q = req.query as { limit: number; offset: number };
        const r = await listBackfills(p, { pipelineId: (req.params as { id: string }).id, ...q });
        return { ...r, limit: q.limit, offset: q.offset };
      },
    );
    app.get(
      '/backfills/:id',
      {
        config: { access: 'backfills:read' },
        schema: {
          summary: 'A backfill: its progress and its jobs, in interval order',
          tags,
          params: IdParams,
          response: { 200: BackfillDetailSchema, ...errors },
        },
      },
      async (req) => getBackfillDetail(p, (req.params as { id: string }).id),
    );
    app.post(
      '/backfills/:id/cancel',
      {
        config: {
          access: 'backfills:write',
          audit: {
            action: 'backfill.cancel',
            resourceType: 'backfill',
            before: (pl, id) => getBackfill(pl, id),
          },
        },
        schema: {
          summary: 'Cancel a backfill: no more runs start; its queued and running jobs are cancelled',
          tags,
          params: IdParams,
          response: { 200: BackfillSchema, ...errors },
        },
      },
      async (req) => cancelBackfill(p, (req.params as { id: string }).id),
    );
  };
