import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { HOOK_EVENTS } from '../../db/schema.ts';
import type { Platform } from '../../platform.ts';
import { listDeliveries } from '../../services/hook-deliveries.ts';
import {
  createHook,
  deleteHook,
  getHook,
  type HookInput,
  hookView,
  listHooks,
  updateHook,
} from '../../services/outbound-hooks.ts';
import { actorOf } from '../auth-hook.ts';
import { NAME_MAX, Text } from '../fields.ts';
import { ErrorBody, IdParams, Page, PageQuery } from '../pagination.ts';

const errors = { 400: ErrorBody, 404: ErrorBody };
const tags = ['webhooks'];
const Ts = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const Events = Type.Array(Type.Unsafe<string>({ type: 'string', enum: [...HOOK_EVENTS] }), {
  minItems: 1,
  maxItems: 3,
  description:
    'When to call: `success`; `failure` (failed or timed out, dead-lettered included); `end` (any terminal status, cancelled included).',
});
const fields = {
  url: Text(2000, { minLength: 1, description: 'Called with POST and a JSON job summary (http or https).' }),
  events: Events,
  secret: Type.Optional(
    Nullable(
      Text(NAME_MAX, {
        minLength: 16,
        description:
          'HMAC-SHA256 key of X-Sluice-Signature; stored encrypted and never shown again. null (on PATCH) removes it.',
      }),
    ),
  ),
  generateSecret: Type.Optional(
    Type.Boolean({ description: 'Let the server choose the secret: this answer shows it, once.' }),
  ),
  // No `default`: on PATCH it would turn on every webhook the request does not mention.
  enabled: Type.Optional(Type.Boolean({ description: 'Called only while enabled (new ones are).' })),
  description: Type.Optional(Text(1000)),
};
const Create = Type.Object(fields, { additionalProperties: false });
const Update = Type.Partial(Create, { additionalProperties: false });

const HookSchema = Type.Object({
  id: Type.String(),
  pipelineId: Nullable(Type.String()),
  url: Type.String(),
  events: Type.Array(Type.String()),
  hasSecret: Type.Boolean(),
  enabled: Type.Boolean(),
  description: Type.String(),
  createdBy: Nullable(Type.String()),
  createdAt: Ts,
  updatedAt: Ts,
  secret: Type.Optional(Type.String({ description: 'Only in the answer that generated it.' })),
});
const DeliverySchema = Type.Object({
  id: Type.String(),
  deliveryId: Type.String({ description: 'X-Sluice-Delivery: the same for every attempt of one delivery.' }),
  jobId: Type.String(),
  event: Type.String(),
  attempt: Type.Integer(),
  ok: Type.Boolean(),
  httpStatus: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  durationMs: Type.Integer(),
  at: Ts,
});

const before = async (p: Platform, id: string) => hookView(await getHook(p, id));
const idOf = (req: { params: unknown }) => (req.params as { id: string }).id;
const create = { action: 'webhook.create', resourceType: 'webhook', idFromAnswer: true };

/**
 * Outbound webhooks: URLs told when jobs end, per pipeline or global (docs/webhooks.md). Not the
 * inbound trigger, POST /pipelines/{id}/webhook (routes/hooks.ts).
 */
export const outboundHookRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    const list = (pipeline: boolean) => ({
      config: { access: 'webhooks:read' as const },
      schema: {
        summary: pipeline ? "A pipeline's outbound webhooks" : 'Global outbound webhooks (every pipeline)',
        tags,
        ...(pipeline ? { params: IdParams } : {}),
        querystring: PageQuery,
        response: { 200: Page(HookSchema), ...errors },
      },
    });
    const post = (pipeline: boolean) => ({
      config: { access: 'webhooks:write' as const, audit: create },
      schema: {
        summary: pipeline
          ? 'Add an outbound webhook to a pipeline'
          : 'Add a global outbound webhook (jobs of every pipeline)',
        tags,
        ...(pipeline ? { params: IdParams } : {}),
        body: Create,
        response: { 201: HookSchema, ...errors },
      },
    });
    app.get('/pipelines/:id/webhooks', list(true), async (req) => {
      const q = req.query as { limit: number; offset: number };
      return { ...(await listHooks(p, idOf(req), q)), ...q };
    });
    app.get('/webhooks', list(false), async (req) => {
      const q = req.query as { limit: number; offset: number };
      return { ...(await listHooks(p, null, q)), ...q };
    });
    app.post('/pipelines/:id/webhooks', post(true), async (req, reply) =>
      reply.status(201).send(await createHook(p, idOf(req), req.body as HookInput, actorOf(req).username)),
    );
    app.post('/webhooks', post(false), async (req, reply) =>
      reply.status(201).send(await createHook(p, null, req.body as HookInput, actorOf(req).username)),
    );
    app.get(
      '/webhooks/:id',
      {
        config: { access: 'webhooks:read' },
        schema: {
          summary: 'An outbound webhook',
          tags,
          params: IdParams,
          response: { 200: HookSchema, ...errors },
        },
      },
      async (req) => hookView(await getHook(p, idOf(req))),
    );
    app.patch(
      '/webhooks/:id',
      {
        config: {
          access: 'webhooks:write',
          audit: { action: 'webhook.update', resourceType: 'webhook', before },
        },
        schema: {
          summary: 'Change an outbound webhook: URL, events, enabled, secret',
          tags,
          params: IdParams,
          body: Update,
          response: { 200: HookSchema, ...errors },
        },
      },
      async (req) => updateHook(p, idOf(req), req.body as Partial<HookInput>),
    );
    app.delete(
      '/webhooks/:id',
      {
        config: {
          access: 'webhooks:write',
          audit: { action: 'webhook.delete', resourceType: 'webhook', before },
        },
        schema: {
          summary: 'Delete an outbound webhook and its delivery log',
          tags,
          params: IdParams,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await deleteHook(p, idOf(req));
        return reply.status(204).send(null);
      },
    );
    app.get(
      '/webhooks/:id/deliveries',
      {
        config: { access: 'webhooks:read' },
        schema: {
          summary: "An outbound webhook's delivery log: every attempt, newest first",
          tags,
          params: IdParams,
          querystring: PageQuery,
          response: { 200: Page(DeliverySchema), ...errors },
        },
      },
      async (req) => {
        const q = req.query as { limit: number; offset: number };
        return { ...(await listDeliveries(p, idOf(req), q)), ...q };
      },
    );
  };
