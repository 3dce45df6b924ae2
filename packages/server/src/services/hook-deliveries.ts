import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { signBody } from '@sluice/connectors';
import { checkUrl, guardedLookup, type NetContext } from '@sluice/core';
import { and, count, desc, eq, isNull, or } from 'drizzle-orm';
import type { Job } from 'pg-boss';
import {
  type HookEvent,
  pipelines,
  type WebhookSubscription,
  webhookDeliveries,
  webhookSubscriptions,
} from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { inTransaction, type Tx, WEBHOOK_RETRIES, WEBHOOKS_QUEUE } from '../queue/boss.ts';
import { unseal } from '../security/secrets.ts';
import type { JobEnd } from './job-status.ts';
import { jobSummary } from './job-summary.ts';
import { getHook } from './outbound-hooks.ts';

/** What a delivery's queue message carries; the body is made from the job's row when it is sent. */
export interface DeliveryMessage {
  deliveryId: string;
  subscriptionId: string;
  jobId: string;
  event: HookEvent;
}

/** How a job ended, as the webhooks' events see it: `dead-lettered` is a failure too. */
export type HookOutcome = JobEnd;

/**
 * The event a subscription is told for an outcome, or none: the specific one (`success`, or
 * `failure` for failed and timed-out jobs) when it subscribed to it, else `end` (every terminal
 * status, cancelled included) when it subscribed to that. One delivery per job and subscription.
 */
export function eventFor(outcome: HookOutcome, events: readonly HookEvent[]): HookEvent | undefined {
  const specific: HookEvent | undefined =
    outcome === 'success' ? 'success' : outcome === 'failed' || outcome === 'timeout' ? 'failure' : undefined;
  if (specific && events.includes(specific)) return specific;
  return events.includes('end') ? 'end' : undefined;
}

/**
 * Queues one delivery per enabled subscription (the job's pipeline's and the global ones) that
 * wants this outcome, in the transaction that records the outcome: a restart in between loses none.
 */
export async function enqueueDeliveries(
  p: Platform,
  tx: Tx,
  job: { id: string; pipelineId: string },
  outcome: HookOutcome,
): Promise<void> {
  const subs = await tx
    .select({ id: webhookSubscriptions.id, events: webhookSubscriptions.events })
    .from(webhookSubscriptions)
    .leftJoin(pipelines, eq(pipelines.id, webhookSubscriptions.pipelineId))
    .where(
      and(
        eq(webhookSubscriptions.enabled, true),
        or(isNull(webhookSubscriptions.pipelineId), eq(webhookSubscriptions.pipelineId, job.pipelineId)),
        // A deleted pipeline's subscriptions stay for its history but are not called.
        isNull(pipelines.deletedAt),
      ),
    );
  for (const s of subs) {
    const event = eventFor(outcome, s.events);
    if (!event) continue;
    const message: DeliveryMessage = { deliveryId: randomUUID(), subscriptionId: s.id, jobId: job.id, event };
    await p.queue.send(WEBHOOKS_QUEUE, message, inTransaction(tx));
  }
}

/** One try's time limit. */
const TIMEOUT_MS = 10_000;
const ATTEMPTS = WEBHOOK_RETRIES.retryLimit + 1;

// Unsealing costs a 600k-iteration PBKDF2 the first time per process: remembered per subscription.
const unsealed = new Map<string, { sealed: string; secret: string }>();
async function secretOf(p: Platform, s: WebhookSubscription): Promise<string | null> {
  if (!s.secret) return null;
  const hit = unsealed.get(s.id);
  if (hit?.sealed === s.secret) return hit.secret;
  const secret = (await unseal(p.masterKey, s.secret, `the secret of webhook ${s.id}`)) as string;
  unsealed.set(s.id, { sealed: s.secret, secret });
  return secret;
}

interface Answer {
  status: number;
  text: string;
}

/**
 * POSTs the body through the platform's network policy: the URL's host is checked (an address
 * literal, which Node does not look up, included), and the socket connects only to addresses the
 * guarded lookup checked. Redirects are not followed: a receiver answers where it was registered.
 */
async function post(
  p: Platform,
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<Answer> {
  const ctx: NetContext = { network: p.network };
  const where = 'webhook url';
  await checkUrl(ctx, url, where);
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<Answer>((resolve, reject) => {
    const req = send(
      u,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body).toString() },
        lookup: guardedLookup(ctx, where),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < 2000) text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Refusals a new try cannot change: the policy, a name that does not exist. */
const permanentError = (err: unknown) => {
  const code = (err as { code?: string }).code;
  return code === 'HOST_FORBIDDEN' || code === 'CONFIG';
};
/** Statuses worth another try: the receiver is down, overloaded or slow. */
const retryable = (status: number) => status >= 500 || status === 408 || status === 429;

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string }; code?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  const cause = e.cause?.code ?? e.cause?.message ?? (e.code && !e.message.includes(e.code) ? e.code : '');
  return cause && !e.message.includes(cause) ? `${e.message}: ${cause}` : e.message;
}

/**
 * Sends one delivery (a queue message) and logs the attempt. Throws when another attempt may
 * succeed, so pg-boss retries it with backoff; a subscription deleted or disabled since is dropped.
 */
export async function deliver(p: Platform, m: Job<DeliveryMessage>): Promise<void> {
  const d = m.data;
  const sub = await getHook(p, d.subscriptionId).catch(() => undefined);
  if (!sub?.enabled) return;
  const attempt = m.retryCount + 1;
  const timestamp = new Date().toISOString();
  const body = JSON.stringify({
    event: d.event,
    deliveryId: d.deliveryId,
    timestamp,
    ...(await jobSummary(p, d.jobId)),
  });
  const secret = await secretOf(p, sub);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `sluice-webhooks/${p.version}`,
    'x-sluice-event': d.event,
    'x-sluice-delivery': d.deliveryId,
    'x-sluice-timestamp': timestamp,
    ...(secret ? { 'x-sluice-signature': signBody(secret, body) } : {}),
  };
  const started = Date.now();
  let answer: Answer | undefined;
  let error: string | null = null;
  let again = false;
  try {
    answer = await post(p, sub.url, body, headers);
    if (answer.status < 200 || answer.status >= 300) {
      error = `HTTP ${answer.status}${answer.text ? `: ${answer.text.slice(0, 300)}` : ''}`;
      again = retryable(answer.status);
    }
  } catch (err) {
    error = describe(err);
    again = !permanentError(err);
  }
  await p.database.db.insert(webhookDeliveries).values({
    deliveryId: d.deliveryId,
    subscriptionId: d.subscriptionId,
    jobId: d.jobId,
    event: d.event,
    attempt,
    ok: error === null,
    httpStatus: answer?.status ?? null,
    error,
    durationMs: Date.now() - started,
  });
  if (again && attempt < ATTEMPTS) throw new Error(`webhook delivery ${d.deliveryId}: ${error}`);
}

/** Workers deliver: each takes webhook messages beside its jobs, a few at a time. */
export async function workDeliveries(p: Platform): Promise<() => Promise<void>> {
  await p.queue.work<DeliveryMessage>(
    WEBHOOKS_QUEUE,
    // A retry is not announced (no NOTIFY): it waits for the next poll.
    { pollingIntervalSeconds: 1, notifyPollingIntervalSeconds: 1, batchSize: 4, perJobResults: true },
    async (jobs) => {
      // Each message on its own: one failing receiver must not fail (and retry) the others.
      const results = await Promise.allSettled(jobs.map((j) => deliver(p, j)));
      return results.map((r, i) => ({
        id: jobs[i]!.id,
        status: r.status === 'fulfilled' ? ('completed' as const) : ('failed' as const),
        ...(r.status === 'rejected' ? { output: { message: String((r.reason as Error).message) } } : {}),
      }));
    },
  );
  return () => p.queue.offWork(WEBHOOKS_QUEUE, { wait: true });
}

export interface DeliveryView {
  id: string;
  deliveryId: string;
  jobId: string;
  event: HookEvent;
  attempt: number;
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
  at: string;
}

/** A subscription's attempts, newest first. */
export async function listDeliveries(
  p: Platform,
  subscriptionId: string,
  q: { limit: number; offset: number },
): Promise<{ items: DeliveryView[]; total: number }> {
  await getHook(p, subscriptionId);
  const where = eq(webhookDeliveries.subscriptionId, subscriptionId);
  const rows = await p.database.db
    .select()
    .from(webhookDeliveries)
    .where(where)
    .orderBy(desc(webhookDeliveries.at), desc(webhookDeliveries.attempt))
    .limit(q.limit)
    .offset(q.offset);
  const [total] = await p.database.db.select({ n: count() }).from(webhookDeliveries).where(where);
  return {
    items: rows.map((r) => ({
      id: r.id,
      deliveryId: r.deliveryId,
      jobId: r.jobId,
      event: r.event,
      attempt: r.attempt,
      ok: r.ok,
      httpStatus: r.httpStatus,
      error: r.error,
      durationMs: r.durationMs,
      at: r.at.toISOString(),
    })),
    total: total!.n,
  };
}
