import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { Issue } from '@sluice/core';
import { and, asc, count, eq } from 'drizzle-orm';
import { conflict, notFound } from '../api/errors.ts';
import { alertEvents, alertRules } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { invalid, issuesOf } from './schema-issues.ts';

// A pattern, not `format: 'uuid'`: TypeBox's Value checks know no formats unless registered.
const Uuid = Type.String({ pattern: '^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$' });
const PipelineId = Type.Optional({
  ...Uuid,
  description: 'The pipeline watched; every live pipeline when absent.',
});
const Percent = (description: string) => Type.Number({ minimum: 0, maximum: 100, description });
const cond = <T extends string, P extends Record<string, TSchema>>(type: T, props: P, description: string) =>
  Type.Object(
    { type: Type.Literal(type), pipelineId: PipelineId, ...props },
    { additionalProperties: false, description },
  );

/** Each condition, by its `type`: the one source of validation, types and the docs' table. */
export const CONDITIONS = {
  job_failed: cond('job_failed', {}, "The pipeline's last finished run failed (or timed out)."),
  consecutive_failures: cond(
    'consecutive_failures',
    { count: Type.Integer({ minimum: 1, description: 'Failed runs in a row.' }) },
    'The last `count` finished runs all failed.',
  ),
  duration_above: cond(
    'duration_above',
    { seconds: Type.Number({ exclusiveMinimum: 0, description: 'The limit, in seconds.' }) },
    'The last finished run took longer than `seconds`, or a run has been running longer.',
  ),
  failure_rate: cond(
    'failure_rate',
    {
      percent: Percent('Fires at or above this share of failed runs.'),
      windowMinutes: Type.Integer({ minimum: 1, description: 'Runs finished in this window count.' }),
      minRuns: Type.Optional(
        Type.Integer({
          minimum: 1,
          default: 1,
          description: 'Fewer finished runs in the window never fire.',
        }),
      ),
    },
    'Failed runs ÷ finished runs within the window is at or above `percent`.',
  ),
  quarantine_rate: cond(
    'quarantine_rate',
    { percent: Percent('Fires at or above this share of quarantined rows.') },
    'Quarantined rows ÷ rows read of the last finished run is at or above `percent`.',
  ),
  freshness: cond(
    'freshness',
    { windowMinutes: Type.Integer({ minimum: 1, description: 'A successful run must finish this often.' }) },
    'No run of the pipeline succeeded within the window (counted from its creation before its first success).',
  ),
  stream_stale: cond(
    'stream_stale',
    {
      minutes: Type.Integer({
        minimum: 1,
        description: 'A running stream must checkpoint this often while messages wait.',
      }),
    },
    "The pipeline's running stream (a flow from a queue) has not checkpointed for `minutes` while messages wait for it.",
  ),
} as const;
export type ConditionType = keyof typeof CONDITIONS;
export type Condition = { [K in ConditionType]: Static<(typeof CONDITIONS)[K]> }[ConditionType];
export const CONDITION_TYPES = Object.keys(CONDITIONS) as ConditionType[];

const Url = Type.String({ pattern: '^https?://', description: 'http:// or https:// URL.' });
export const CHANNELS = {
  webhook: Type.Object(
    {
      type: Type.Literal('webhook'),
      url: Url,
      headers: Type.Optional(
        Type.Record(Type.String(), Type.String(), {
          description: 'Extra headers; values are masked in answers.',
        }),
      ),
    },
    { additionalProperties: false, description: 'POSTs the event as JSON.' },
  ),
  slack: Type.Object(
    { type: Type.Literal('slack'), url: Url },
    {
      additionalProperties: false,
      description:
        'A Slack-compatible incoming webhook: POSTs {text, blocks}; its path is masked in answers.',
    },
  ),
  email: Type.Object(
    {
      type: Type.Literal('email'),
      to: Type.Array(Type.String({ minLength: 3 }), { minItems: 1 }),
      from: Type.Optional(Type.String({ minLength: 3, default: 'sluice@localhost' })),
      host: Type.String({ minLength: 1, description: 'SMTP server.' }),
      port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 587 })),
      secure: Type.Optional(
        Type.Boolean({ description: 'TLS from the start (port 465); else STARTTLS when offered.' }),
      ),
      user: Type.Optional(Type.String()),
      password: Type.Optional(Type.String({ description: 'Masked in answers; prefer `credential`.' })),
      credential: Type.Optional(
        Type.String({ description: 'A stored credential whose `user` and `password` fields sign in.' }),
      ),
    },
    { additionalProperties: false, description: 'Mails the event over SMTP.' },
  ),
} as const;
export type ChannelType = keyof typeof CHANNELS;
export type Channel = { [K in ChannelType]: Static<(typeof CHANNELS)[K]> }[ChannelType];
export const CHANNEL_TYPES = Object.keys(CHANNELS) as ChannelType[];

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface AlertRuleInput {
  name: string;
  condition: Condition;
  severity?: Severity;
  cooldownSeconds?: number;
  channels?: Channel[];
  enabled?: boolean;
}

export type AlertRule = Omit<typeof alertRules.$inferSelect, 'condition' | 'channels'> & {
  condition: Condition;
  channels: Channel[];
};

const MASK = '********';

/** What the API shows: a channel's password, header values and Slack URL path masked. */
export function ruleView(r: AlertRule) {
  return {
    id: r.id,
    name: r.name,
    condition: r.condition,
    severity: r.severity,
    cooldownSeconds: r.cooldownSeconds,
    channels: r.channels.map(maskChannel),
    enabled: r.enabled,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

// A Slack incoming webhook's path is its secret (anyone holding it may post to the channel).
const maskUrl = (url: string) => {
  try {
    return `${new URL(url).origin}/${MASK}`;
  } catch {
    return MASK;
  }
};

function maskChannel(c: Channel): Channel {
  if (c.type === 'slack') return { ...c, url: maskUrl(c.url) };
  if (c.type === 'email' && c.password !== undefined) return { ...c, password: MASK };
  if (c.type === 'webhook' && c.headers)
    return { ...c, headers: Object.fromEntries(Object.keys(c.headers).map((k) => [k, MASK])) };
  return c;
}

// A client edits what it was shown: a masked value sent back means "keep the stored one".
export function unmask(next: Channel[], old: Channel[]): Channel[] {
  return next.map((c, i) => {
    const before = old[i];
    if (c.type === 'slack' && before?.type === 'slack' && c.url === maskUrl(before.url))
      return { ...c, url: before.url };
    if (c.type === 'email' && c.password === MASK && before?.type === 'email')
      return { ...c, ...(before.password === undefined ? {} : { password: before.password }) };
    if (c.type === 'webhook' && c.headers && before?.type === 'webhook')
      return {
        ...c,
        headers: Object.fromEntries(
          Object.entries(c.headers).map(([k, v]) => [k, v === MASK ? (before.headers?.[k] ?? v) : v]),
        ),
      };
    return c;
  });
}

/**
 * Checks the condition and each channel against the schema of its `type` (a discriminated union
 * checked branch by branch, so a mistake is reported at its own path, not as "matches no branch").
 */
export function checkRule(input: Partial<AlertRuleInput>): void {
  const issues: Issue[] = [];
  if (input.condition !== undefined) {
    const schema = CONDITIONS[(input.condition as { type: ConditionType }).type];
    if (!schema)
      issues.push({ path: 'body.condition.type', message: `must be one of ${CONDITION_TYPES.join(', ')}` });
    else issues.push(...issuesOf(schema, input.condition, 'body.condition'));
  }
  (input.channels ?? []).forEach((c, i) => {
    issues.push(...channelIssues(c, `body.channels[${i}]`));
  });
  if (issues.length) throw invalid('alert rule', issues);
}

/** A channel's mistakes at paths under `at`, checked against the schema of its `type`. */
export function channelIssues(c: Channel, at: string): Issue[] {
  const schema = CHANNELS[(c as { type: ChannelType }).type];
  if (!schema) return [{ path: `${at}.type`, message: `must be one of ${CHANNEL_TYPES.join(', ')}` }];
  const issues = issuesOf(schema, c, at);
  if (c.type === 'email' && c.password !== undefined && c.credential !== undefined)
    issues.push({ path: `${at}.password`, message: 'give password or credential, not both' });
  return issues;
}

const taken = (err: unknown, name: string) =>
  ((err as { cause?: { code?: string }; code?: string }).cause?.code ?? (err as { code?: string }).code) ===
  '23505'
    ? conflict(`an alert rule named "${name}" exists already; choose another name`)
    : err;

const asRule = (r: typeof alertRules.$inferSelect) => r as AlertRule;

export async function createRule(p: Platform, input: AlertRuleInput): Promise<AlertRule> {
  checkRule(input);
  try {
    const [r] = await p.database.db
      .insert(alertRules)
      .values({
        name: input.name,
        condition: input.condition,
        severity: input.severity ?? 'warning',
        cooldownSeconds: input.cooldownSeconds ?? 300,
        channels: input.channels ?? [],
        enabled: input.enabled ?? true,
      })
      .returning();
    return asRule(r!);
  } catch (err) {
    throw taken(err, input.name);
  }
}

export async function getRule(p: Platform, id: string): Promise<AlertRule> {
  const [r] = await p.database.db.select().from(alertRules).where(eq(alertRules.id, id));
  if (!r) throw notFound('alert rule', id);
  return asRule(r);
}

/**
 * Changes a rule. Its open alerts are resolved when it is disabled or its condition changes:
 * they were raised by a rule that no longer exists as it was (the next evaluation fires anew).
 */
export async function updateRule(
  p: Platform,
  id: string,
  input: Partial<AlertRuleInput>,
): Promise<AlertRule> {
  checkRule(input);
  const old = await getRule(p, id);
  const changed =
    input.condition !== undefined && JSON.stringify(input.condition) !== JSON.stringify(old.condition);
  try {
    return await p.database.db.transaction(async (tx) => {
      const [r] = await tx
        .update(alertRules)
        .set({
          ...(input.name === undefined ? {} : { name: input.name }),
          ...(input.condition === undefined ? {} : { condition: input.condition }),
          ...(input.severity === undefined ? {} : { severity: input.severity }),
          ...(input.cooldownSeconds === undefined ? {} : { cooldownSeconds: input.cooldownSeconds }),
          ...(input.channels === undefined ? {} : { channels: unmask(input.channels, old.channels) }),
          ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
          updatedAt: new Date(),
        })
        .where(eq(alertRules.id, id))
        .returning();
      if (input.enabled === false || changed)
        await tx
          .update(alertEvents)
          .set({ status: 'resolved', resolvedAt: new Date() })
          .where(and(eq(alertEvents.ruleId, id), eq(alertEvents.status, 'firing')));
      return asRule(r!);
    });
  } catch (err) {
    throw taken(err, input.name ?? old.name);
  }
}

/** Deletes a rule and, with it, its events (their history goes with the rule). */
export async function deleteRule(p: Platform, id: string): Promise<void> {
  await getRule(p, id);
  await p.database.db.delete(alertRules).where(eq(alertRules.id, id));
}

export async function listRules(p: Platform, q: { limit: number; offset: number }) {
  const rows = await p.database.db
    .select()
    .from(alertRules)
    .orderBy(asc(alertRules.name))
    .limit(q.limit)
    .offset(q.offset);
  const [total] = await p.database.db.select({ n: count() }).from(alertRules);
  return { items: rows.map((r) => ruleView(asRule(r))), total: total!.n };
}
