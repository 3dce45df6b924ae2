import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import {
  createSchedule,
  deleteSchedule,
  getSchedule,
  listSchedules,
  type ScheduleInput,
  scheduleView,
  setPaused,
  updateSchedule,
} from '../../services/schedules.ts';
import { NAME_MAX, Text, Uuid } from '../fields.ts';
import { ErrorBody, IdParams, Page, PageQuery } from '../pagination.ts';
import { ScheduleSchema } from '../schemas.ts';

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const tags = ['schedules'];
const fields = {
  name: Type.Optional(Text(NAME_MAX, { minLength: 1 })),
  cron: Text(200, { description: 'Five fields (minute hour day month weekday), e.g. "0 3 * * *".' }),
  timezone: Type.Optional(
    Text(100, { description: 'IANA time zone, e.g. "Europe/Lisbon".', default: 'UTC' }),
  ),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  paused: Type.Optional(Type.Boolean()),
  missedPolicy: Type.Optional(
    Type.Union([Type.Literal('skip'), Type.Literal('run_once')], {
      description: 'After downtime: skip the missed runs, or run once.',
    }),
  ),
};
const Create = Type.Object({ pipelineId: Uuid(), ...fields });
const Update = Type.Partial(Create);

const scheduleBefore = async (p: Platform, id: string) => scheduleView(await getSchedule(p, id));

export const scheduleRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/schedules',
      {
        config: { access: 'schedules:read' },
        schema: {
          summary: 'List schedules with their next run times',
          tags,
          querystring: Type.Composite([PageQuery, Type.Object({ pipelineId: Type.Optional(Uuid()) })]),
          response: { 200: Page(ScheduleSchema), 400: ErrorBody },
        },
      },
      async (req) => {
        const q = req.query as { limit: number; offset: number; pipelineId?: string };
        return { ...(await listSchedules(p, q)), limit: q.limit, offset: q.offset };
      },
    );
    app.post(
      '/schedules',
      {
        config: { access: 'schedules:write', audit: { action: 'schedule.create', resourceType: 'schedule' } },
        schema: {
          summary: 'Create a schedule',
          tags,
          body: Create,
          response: { 201: ScheduleSchema, ...errors },
        },
      },
      async (req, reply) =>
        reply.status(201).send(scheduleView(await createSchedule(p, req.body as ScheduleInput))),
    );
    app.get(
      '/schedules/:id',
      {
        config: { access: 'schedules:read' },
        schema: {
          summary: 'A schedule',
          tags,
          params: IdParams,
          response: { 200: ScheduleSchema, ...errors },
        },
      },
      async (req) => scheduleView(await getSchedule(p, (req.params as { id: string }).id)),
    );
    app.put(
      '/schedules/:id',
      {
        config: {
          access: 'schedules:write',
          audit: { action: 'schedule.update', resourceType: 'schedule', before: scheduleBefore },
        },
        schema: {
          summary: 'Change a schedule',
          tags,
          params: IdParams,
          body: Update,
          response: { 200: ScheduleSchema, ...errors },
        },
      },
      async (req) =>
        scheduleView(
          await updateSchedule(p, (req.params as { id: string }).id, req.body as Partial<ScheduleInput>),
        ),
    );
    app.delete(
      '/schedules/:id',
      {
        config: {
          access: 'schedules:write',
          audit: { action: 'schedule.delete', resourceType: 'schedule', before: scheduleBefore },
        },
        schema: {
          summary: 'Delete a schedule',
          tags,
          params: IdParams,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await deleteSchedule(p, (req.params as { id: string }).id);
        return reply.status(204).send(null);
      },
    );
    for (const [action, paused] of [
      ['pause', true],
      ['resume', false],
    ] as const) {
      app.post(
        `/schedules/:id/${action}`,
        {
          config: {
            access: 'schedules:pause',
            audit: { action: `schedule.${action}`, resourceType: 'schedule' },
          },
          schema: {
            summary: paused ? 'Pause a schedule' : 'Resume a schedule from now (missed runs are not made up)',
            tags,
            params: IdParams,
            response: { 200: ScheduleSchema, ...errors },
          },
        },
        async (req) => scheduleView(await setPaused(p, (req.params as { id: string }).id, paused)),
      );
    }
  };
