import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import { readQuarantine } from '../../services/quarantine.ts';
import { replayJobQuarantine } from '../../services/replay.ts';
import { Slug } from '../fields.ts';
import { ErrorBody, IdParams, Page, pageQuery } from '../pagination.ts';
import { optionalBody } from '../validation.ts';
import { actor } from './pipelines.ts';

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const tags = ['jobs'];

const QuarantineItem = Type.Object(
  {
    index: Type.Integer({ description: "0-based position in the step's quarantine file." }),
    step: Type.String(),
    component: Type.String({
      description: 'The component that set the row aside (`<step>.<n>:<connector>`).',
    }),
    reason: Type.String(),
    line: Type.Optional(Type.Integer({ description: 'Line in the source file where the record starts.' })),
    offset: Type.Optional(Type.Integer({ description: 'Byte offset of the record in the source.' })),
    file: Type.Optional(Type.String()),
    time: Type.Optional(Type.String()),
    raw: Type.String({
      description:
        "The record's text: the source's raw text for a row it could not parse; for a row a transform or " +
        'sink set aside, the row as JSON.',
    }),
    row: Type.Optional(
      Type.Unknown({ description: 'The row as it was when it failed, when the source parsed it.' }),
    ),
  },
  { additionalProperties: true },
);

/** A job's quarantined rows: read page by page, and replayed. */
export const quarantineRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/jobs/:id/quarantine',
      {
        config: { access: 'jobs:read' },
        schema: {
          summary: "A page of one step's quarantined rows, with the reason for each",
          description:
            "Reads the step's quarantine artifact (`<step>.quarantine.ndjson`, the file a download gives) " +
            'up to the page asked for, never whole. `total` is exact once a page reaches the end of the ' +
            "file; before that it is the step's count of quarantined rows. A step that quarantined nothing, " +
            'or has not finished, has none.',
          tags,
          params: IdParams,
          querystring: Type.Composite([pageQuery(500, 50), Type.Object({ step: Slug() })]),
          response: { 200: Page(QuarantineItem), ...errors },
        },
      },
      async (req) => {
        const { step, limit, offset } = req.query as { step: string; limit: number; offset: number };
        return readQuarantine(p, (req.params as { id: string }).id, step, { limit, offset });
      },
    );
    app.post(
      '/jobs/:id/quarantine/replay',
      {
        config: { access: 'jobs:replay', audit: { action: 'job.quarantine.replay', resourceType: 'job' } },
        preValidation: optionalBody,
        schema: {
          summary:
            "Replay a finished job's quarantined rows through the pipeline's current version into the same sinks, as a new job",
          description:
            'Queues a job (`replayOf` the job whose quarantine it replays) with a step per flow step that succeeded ' +
            'with quarantined rows. Rows that fail again stay quarantined with the new reason. 409 while the job ' +
            'runs, when it has nothing to replay, or while another replay of it is queued or running.',
          tags,
          params: IdParams,
          body: Type.Optional(
            Type.Object(
              {
                triggerType: Type.Optional(
                  Type.Union([Type.Literal('manual'), Type.Literal('api')], { default: 'api' }),
                ),
              },
              { additionalProperties: false },
            ),
          ),
          response: { 202: Type.Object({ jobId: Type.String() }), ...errors },
        },
      },
      async (req, reply) => {
        const body = (req.body ?? {}) as { triggerType?: 'manual' | 'api' };
        const jobId = await replayJobQuarantine(p, (req.params as { id: string }).id, {
          triggerType: body.triggerType ?? 'api',
          triggeredBy: actor(req),
        });
        return reply.status(202).send({ jobId });
      },
    );
  };
