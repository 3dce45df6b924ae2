import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Platform } from '../../platform.ts';
import {
  type AlertEventFilter,
  type ChannelTest,
  listAlertEvents,
  testChannel,
  testRule,
} from '../../services/alert-events.ts';
import {
  type AlertRuleInput,
  CHANNEL_TYPES,
  CHANNELS,
  CONDITION_TYPES,
  CONDITIONS,
  createRule,
  deleteRule,
  getRule,
  listRules,
  ruleView,
  SEVERITIES,
  updateRule,
} from '../../services/alert-rules.ts';
import { NAME_MAX, Text } from '../fields.ts';
import { ErrorBody, IdParams, Page, PageQuery } from '../pagination.ts';

const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
const tags = ['alerts'];
const Ts = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const oneOf = (values: readonly string[], description?: string) =>
  Type.Unsafe<string>({ type: 'string', enum: [...values], ...(description ? { description } : {}) });

// The request checks `type` here; each variant's own fields are checked by checkRule against
// CONDITIONS / CHANNELS, branch by branch, so an error names its field (body.condition.count)
// rather than "matches no variant" for every variant of the union.
const describe = (schemas: Record<string, { description?: string }>) =>
  Object.entries(schemas)
    .map(([k, s]) => `${k}: ${s.description ?? ''}`)
    .join(' | ');
const Condition = Type.Object(
  { type: oneOf(CONDITION_TYPES), pipelineId: Type.Optional(Type.String({ format: 'uuid' })) },
  {
    additionalProperties: true,
    description: `One of — ${describe(CONDITIONS)}. Thresholds: consecutive_failures {count}, duration_above {seconds}, failure_rate {percent, windowMinutes, minRuns?}, quarantine_rate {percent}, freshness {windowMinutes}.`,
  },
);
const ChannelIn = Type.Object(
  { type: oneOf(CHANNEL_TYPES) },
  {
    additionalProperties: true,
    description: `One of — ${describe(CHANNELS)}. webhook {url, headers?}, slack {url}, email {to, from?, host, port?, secure?, user?, password?, credential?}.`,
  },
);
const fields = {
  name: Text(NAME_MAX, { minLength: 1 }),
  condition: Condition,
  severity: Type.Optional(oneOf(SEVERITIES, 'info, warning (the default) or critical.')),
  cooldownSeconds: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 30 * 86_400,
      default: 300,
      description: 'No new event for the same rule and pipeline within this many seconds of the last.',
    }),
  ),
  channels: Type.Optional(Type.Array(ChannelIn, { maxItems: 20 })),
  enabled: Type.Optional(Type.Boolean({ default: true })),
};
const Create = Type.Object(fields, { additionalProperties: false });
const Update = Type.Partial(Create, { additionalProperties: false });

const RuleSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  condition: Type.Unknown(),
  severity: Type.String(),
  cooldownSeconds: Type.Integer(),
  channels: Type.Array(Type.Unknown()),
  enabled: Type.Boolean(),
  createdAt: Ts,
  updatedAt: Ts,
});
const DeliverySchema = Type.Object({
  channel: Type.Integer(),
  type: Type.String(),
  notice: Type.String(),
  target: Type.String(),
  ok: Type.Boolean(),
  attempts: Type.Integer(),
  error: Type.Optional(Type.String()),
  at: Ts,
});
const EventSchema = Type.Object({
  id: Type.String(),
  ruleId: Type.String(),
  ruleName: Type.String(),
  status: Type.String(),
  severity: Type.String(),
  message: Type.String(),
  pipelineId: Nullable(Type.String()),
  pipelineName: Nullable(Type.String()),
  jobId: Nullable(Type.String()),
  firedAt: Ts,
  resolvedAt: Nullable(Ts),
  deliveries: Type.Array(DeliverySchema),
});

const ruleBefore = async (p: Platform, id: string) => ruleView(await getRule(p, id));
const idOf = (req: { params: unknown }) => (req.params as { id: string }).id;

export const alertRoutes =
  (p: Platform): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/alerts/rules',
      {
        config: { access: 'alerts:read' },
        schema: {
          summary: 'List alert rules',
          tags,
          querystring: PageQuery,
          response: { 200: Page(RuleSchema), 400: ErrorBody },
        },
      },
      async (req) => {
        const q = req.query as { limit: number; offset: number };
        return { ...(await listRules(p, q)), limit: q.limit, offset: q.offset };
      },
    );
    app.post(
      '/alerts/rules',
      {
        config: {
          access: 'alerts:write',
          audit: { action: 'alert_rule.create', resourceType: 'alert_rule' },
        },
        schema: {
          summary: 'Create an alert rule',
          tags,
          body: Create,
          response: { 201: RuleSchema, ...errors },
        },
      },
      async (req, reply) => reply.status(201).send(ruleView(await createRule(p, req.body as AlertRuleInput))),
    );
    app.get(
      '/alerts/rules/:id',
      {
        config: { access: 'alerts:read' },
        schema: {
          summary: 'An alert rule',
          tags,
          params: IdParams,
          response: { 200: RuleSchema, ...errors },
        },
      },
      async (req) => ruleView(await getRule(p, idOf(req))),
    );
    app.put(
      '/alerts/rules/:id',
      {
        config: {
          access: 'alerts:write',
          audit: { action: 'alert_rule.update', resourceType: 'alert_rule', before: ruleBefore },
        },
        schema: {
          summary: 'Change an alert rule (a masked secret sent back keeps the stored one)',
          tags,
          params: IdParams,
          body: Update,
          response: { 200: RuleSchema, ...errors },
        },
      },
      async (req) => ruleView(await updateRule(p, idOf(req), req.body as Partial<AlertRuleInput>)),
    );
    app.delete(
      '/alerts/rules/:id',
      {
        config: {
          access: 'alerts:write',
          audit: { action: 'alert_rule.delete', resourceType: 'alert_rule', before: ruleBefore },
        },
        schema: {
          summary: 'Delete an alert rule and its events',
          tags,
          params: IdParams,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await deleteRule(p, idOf(req));
        return reply.status(204).send(null);
      },
    );
    app.post(
      '/alerts/rules/:id/test',
      {
        config: { access: 'alerts:write', audit: { action: 'alert_rule.test', resourceType: 'alert_rule' } },
        schema: {
          summary: "Send a test notice to the rule's channels and answer each delivery's outcome",
          tags,
          params: IdParams,
          response: { 200: Type.Object({ deliveries: Type.Array(DeliverySchema) }), ...errors },
        },
      },
      async (req) => testRule(p, idOf(req)),
    );
    app.post(
      '/alerts/channels/test',
      {
        config: {
          access: 'alerts:write',
          audit: { action: 'alert_channel.test', resourceType: 'alert_rule' },
        },
        schema: {
          summary:
            'Send a test notice to one channel as configured (before saving it) and answer the outcome',
          tags,
          body: Type.Object(
            {
              channel: ChannelIn,
              ruleId: Type.Optional(
                Type.String({
                  format: 'uuid',
                  description:
                    'The saved rule the channel is edited in: a masked secret sent back means its stored value.',
                }),
              ),
              index: Type.Optional(
                Type.Integer({ minimum: 0, maximum: 19, description: "The channel's place in that rule." }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: DeliverySchema, ...errors },
        },
      },
      async (req) => testChannel(p, req.body as ChannelTest),
    );
    app.get(
      '/alerts/events',
      {
        config: { access: 'alerts:read' },
        schema: {
          summary: 'The alert history, newest first',
          tags,
          querystring: Type.Composite([
            PageQuery,
            Type.Object({
              status: Type.Optional(oneOf(['firing', 'resolved'])),
              ruleId: Type.Optional(Type.String({ format: 'uuid' })),
              pipelineId: Type.Optional(Type.String({ format: 'uuid' })),
            }),
          ]),
          response: { 200: Page(EventSchema), 400: ErrorBody },
        },
      },
      async (req) => {
        const q = req.query as AlertEventFilter;
        return { ...(await listAlertEvents(p, q)), limit: q.limit, offset: q.offset };
      },
    );
  };
