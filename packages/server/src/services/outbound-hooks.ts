import { randomBytes } from 'node:crypto';
import { ConfigError } from '@sluice/core';
import { and, desc, eq, isNull, type SQL } from 'drizzle-orm';
import { notFound } from '../api/errors.ts';
import { type HookEvent, type WebhookSubscription, webhookSubscriptions } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { seal } from '../security/secrets.ts';
import { livePipeline } from './pipelines.ts';

// Outbound webhooks: URLs told when a job ends. The inbound trigger (a signed POST that runs a
// pipeline) is services/webhooks.ts; both sign with its `signBody`.

export interface HookInput {
  url: string;
  events: HookEvent[];
  /** The HMAC key of X-Sluice-Signature; sealed at rest, never shown again. */
  secret?: string | null;
  /** Let the server choose a secret: the creation's answer shows it, once. */
  generateSecret?: boolean;
  enabled?: boolean;
  description?: string;
}

export interface HookView {
  id: string;
  pipelineId: string | null;
  url: string;
  events: HookEvent[];
  hasSecret: boolean;
  enabled: boolean;
  description: string;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export function hookView(h: WebhookSubscription): HookView {
  return {
    id: h.id,
    pipelineId: h.pipelineId,
    url: h.url,
    events: h.events,
    hasSecret: h.secret !== null,
    enabled: h.enabled,
    description: h.description,
    createdBy: h.createdBy,
    createdAt: h.createdAt.toISOString(),
    updatedAt: h.updatedAt.toISOString(),
  };
}

/** An http(s) URL with a host; the network policy is applied when it is called, as for a step. */
function checkUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError('invalid webhook', [
      { path: 'body.url', message: `"${url}" is not a URL; write https://host/path` },
    ]);
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.hostname === '')
    throw new ConfigError('invalid webhook', [
      { path: 'body.url', message: `a webhook is called over http or https, not ${u.protocol}` },
    ]);
}

async function sealedSecret(p: Platform, input: Pick<HookInput, 'secret' | 'generateSecret'>) {
  if (input.generateSecret) {
    const secret = `whs_${randomBytes(32).toString('base64url')}`;
    return { secret, sealed: await seal(p.masterKey, secret) };
  }
  if (input.secret === undefined) return undefined;
  if (input.secret === null || input.secret === '') return { secret: null, sealed: null };
  return { secret: input.secret, sealed: await seal(p.masterKey, input.secret) };
}

/** A new subscription, of a pipeline or (`pipelineId` null) of every pipeline. */
export async function createHook(
  p: Platform,
  pipelineId: string | null,
  input: HookInput,
  user: string | null,
): Promise<HookView & { secret?: string }> {
  if (pipelineId) await livePipeline(p, pipelineId);
  checkUrl(input.url);
  const s = await sealedSecret(p, input);
  const [row] = await p.database.db
    .insert(webhookSubscriptions)
    .values({
      pipelineId,
      url: input.url,
      events: [...new Set(input.events)],
      secret: s?.sealed ?? null,
      enabled: input.enabled ?? true,
      description: input.description ?? '',
      createdBy: user,
    })
    .returning();
  // A generated secret is shown in this answer only (the audit log masks it).
  return { ...hookView(row!), ...(input.generateSecret && s?.secret ? { secret: s.secret } : {}) };
}

export async function getHook(p: Platform, id: string): Promise<WebhookSubscription> {
  const [row] = await p.database.db
    .select()
    .from(webhookSubscriptions)
    .where(eq(webhookSubscriptions.id, id));
  if (!row) throw notFound('webhook', id);
  return row;
}

/** Changes what is given; `secret: null` removes the secret, a new one replaces it. */
export async function updateHook(
  p: Platform,
  id: string,
  input: Partial<HookInput>,
): Promise<HookView & { secret?: string }> {
  await getHook(p, id);
  if (input.url !== undefined) checkUrl(input.url);
  const s = await sealedSecret(p, input);
  const [row] = await p.database.db
    .update(webhookSubscriptions)
    .set({
      updatedAt: new Date(),
      ...(input.url === undefined ? {} : { url: input.url }),
      ...(input.events === undefined ? {} : { events: [...new Set(input.events)] }),
      ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(s === undefined ? {} : { secret: s.sealed }),
    })
    .where(eq(webhookSubscriptions.id, id))
    .returning();
  return { ...hookView(row!), ...(input.generateSecret && s?.secret ? { secret: s.secret } : {}) };
}

export async function deleteHook(p: Platform, id: string): Promise<void> {
  await getHook(p, id);
  await p.database.db.delete(webhookSubscriptions).where(eq(webhookSubscriptions.id, id));
}

/** A pipeline's subscriptions, or (`pipelineId` null) the global ones. */
export async function listHooks(
  p: Platform,
  pipelineId: string | null,
  q: { limit: number; offset: number },
): Promise<{ items: HookView[]; total: number }> {
  if (pipelineId) await livePipeline(p, pipelineId);
  const where: SQL | undefined = pipelineId
    ? eq(webhookSubscriptions.pipelineId, pipelineId)
    : isNull(webhookSubscriptions.pipelineId);
  const rows = await p.database.db
    .select()
    .from(webhookSubscriptions)
    .where(and(where))
    .orderBy(desc(webhookSubscriptions.createdAt));
  return { items: rows.slice(q.offset, q.offset + q.limit).map(hookView), total: rows.length };
}
