import { sendMail } from '@sluice/connectors';
import { growingBackoff } from '@sluice/core';
import { handleAll, retry } from 'cockatiel';
import { eq, sql } from 'drizzle-orm';
import { alertEvents, credentials } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { unseal } from '../security/secrets.ts';
import type { Channel } from './alert-rules.ts';
import { audit } from './audit.ts';

/** What a channel is told: never a channel's own configuration, never a credential. */
export interface AlertNotice {
  /** `firing` and `resolved` follow an alert's life; `test` comes from the test routes (POST /alerts/rules/{id}/test, /alerts/channels/test). */
  status: 'firing' | 'resolved' | 'test';
  eventId: string | null;
  rule: { id: string; name: string };
  severity: string;
  message: string;
  pipeline: { id: string; name: string } | null;
  jobId: string | null;
  firedAt: string;
  resolvedAt: string | null;
}

/** One delivery's outcome, appended to the event's `deliveries`. */
export interface Delivery {
  channel: number;
  type: Channel['type'];
  notice: AlertNotice['status'];
  /** Where it went, without secrets: the URL's origin, or the recipients. */
  target: string;
  ok: boolean;
  attempts: number;
  error?: string;
  at: string;
}

export interface AlertOptions {
  /** Period of the evaluation loop that `startAlerts` runs. @defaultValue 30000 */
  everyMs: number;
  /** Tries of one delivery, the first included. @defaultValue 4 */
  deliveryAttempts: number;
  /** Delay before the first retry; it grows exponentially, with jitter, never shrinking. @defaultValue 1000 */
  firstRetryMs: number;
  /** @defaultValue 30000 */
  maxRetryMs: number;
  /** One try's time limit (HTTP request or SMTP session). @defaultValue 10000 */
  timeoutMs: number;
}

export const ALERT_DEFAULTS = {
  everyMs: 30_000,
  deliveryAttempts: 4,
  firstRetryMs: 1000,
  maxRetryMs: 30_000,
  timeoutMs: 10_000,
} satisfies AlertOptions;

// Keyed by the database, which a platform and every copy of it share (test helpers spread it).
const configured = new WeakMap<object, Partial<AlertOptions>>();
const inflight = new WeakMap<object, Set<Promise<void>>>();

/** Overrides the defaults for one platform (tests shorten the retries). */
export function configureAlerts(p: Platform, o: Partial<AlertOptions>): void {
  configured.set(p.database, { ...configured.get(p.database), ...o });
}

export function alertOptions(p: Platform): AlertOptions {
  return { ...ALERT_DEFAULTS, ...configured.get(p.database) };
}

/** Resolves when every delivery started so far has been recorded (tests, shutdown). */
export async function deliveriesSettled(p: Platform): Promise<void> {
  for (;;) {
    const set = inflight.get(p.database);
    if (!set?.size) return;
    await Promise.allSettled([...set]);
  }
}

const headline = (n: AlertNotice) =>
  `${n.status === 'resolved' ? 'RESOLVED' : n.status === 'test' ? 'TEST' : 'FIRING'} [${n.severity}] ${n.rule.name}`;

export function noticeText(n: AlertNotice): string {
  return `${headline(n)}: ${n.message}`;
}

function describeError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause && !e.message.includes(cause) ? `${e.message}: ${cause}` : e.message;
}

async function post(url: string, body: unknown, headers: Record<string, string>, timeoutMs: number) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'sluice-alerts', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await r.text().catch(() => '');
  if (!r.ok) throw new Error(`HTTP ${r.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
}

function slackBody(n: AlertNotice) {
  const icon =
    n.status === 'resolved'
      ? ':large_green_circle:'
      : n.severity === 'critical'
        ? ':red_circle:'
        : ':large_orange_circle:';
  const context = [
    n.pipeline ? `pipeline *${n.pipeline.name}*` : null,
    n.jobId ? `job \`${n.jobId}\`` : null,
    `fired ${n.firedAt}`,
  ].filter(Boolean);
  return {
    text: noticeText(n),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${icon} *${headline(n)}*\n${n.message}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] },
    ],
  };
}

async function smtpAuth(p: Platform, c: Extract<Channel, { type: 'email' }>, eventId: string | null) {
  if (c.credential) {
    const [row] = await p.database.db.select().from(credentials).where(eq(credentials.name, c.credential));
    if (!row) throw new Error(`no credential named "${c.credential}" (email channel)`);
    const data = (await unseal(p.masterKey, row.encryptedData)) as {
      user?: string;
      username?: string;
      password?: string;
    };
    await audit(
      p.database.db,
      { userId: null, username: 'alerts' },
      {
        action: 'credential.use',
        resourceType: 'credential',
        resourceId: row.id,
        newValue: { name: row.name, alertEventId: eventId },
      },
    );
    const user = data.user ?? data.username;
    return user ? { user, pass: data.password ?? '' } : undefined;
  }
  return c.user ? { user: c.user, pass: c.password ?? '' } : undefined;
}

async function send(p: Platform, c: Channel, n: AlertNotice, timeoutMs: number): Promise<void> {
  switch (c.type) {
    case 'webhook':
      return post(c.url, { type: 'alert', ...n, text: noticeText(n) }, c.headers ?? {}, timeoutMs);
    case 'slack':
      return post(c.url, slackBody(n), {}, timeoutMs);
    case 'email': {
      const auth = await smtpAuth(p, c, n.eventId);
      await sendMail(
        {
          host: c.host,
          port: c.port,
          secure: c.secure,
          user: auth?.user,
          password: auth?.pass,
          from: c.from,
        },
        {
          to: c.to,
          subject: `[Sluice] ${headline(n)}${n.pipeline ? ` (${n.pipeline.name})` : ''}`,
          text: [
            n.message,
            '',
            `rule: ${n.rule.name} (${n.rule.id})`,
            `severity: ${n.severity}`,
            n.pipeline ? `pipeline: ${n.pipeline.name} (${n.pipeline.id})` : null,
            n.jobId ? `job: ${n.jobId}` : null,
            `fired: ${n.firedAt}`,
            n.resolvedAt ? `resolved: ${n.resolvedAt}` : null,
          ]
            .filter((l) => l !== null)
            .join('\n'),
        },
        { timeoutMs, where: 'email channel' },
      );
      return;
    }
  }
}

function targetOf(c: Channel): string {
  if (c.type === 'email') return c.to.join(', ');
  try {
    return new URL(c.url).origin; // a Slack URL's path is its secret
  } catch {
    return c.type;
  }
}

/**
 * Delivers to one channel, retrying with exponential backoff; never throws. `attempts` overrides
 * the configured tries (a test from the form tries once: a person is waiting for the answer).
 */
export async function deliverTo(
  p: Platform,
  c: Channel,
  index: number,
  n: AlertNotice,
  tries?: { attempts: number },
): Promise<Delivery> {
  const o = alertOptions(p);
  const policy = retry(handleAll, {
    maxAttempts: Math.max(0, (tries?.attempts ?? o.deliveryAttempts) - 1),
    backoff: growingBackoff(o.firstRetryMs, o.maxRetryMs),
  });
  let attempts = 0;
  const base = { channel: index, type: c.type, notice: n.status, target: targetOf(c) };
  try {
    await policy.execute(() => {
      attempts++;
      return send(p, c, n, o.timeoutMs);
    });
    return { ...base, ok: true, attempts, at: new Date().toISOString() };
  } catch (err) {
    return { ...base, ok: false, attempts, error: describeError(err), at: new Date().toISOString() };
  }
}

/**
 * Sends a notice to every channel of its rule in the background and appends each outcome to the
 * event's `deliveries` as it lands. The caller (a finishing job) never waits for a channel.
 */
export function deliverInBackground(p: Platform, channels: Channel[], n: AlertNotice): void {
  if (channels.length === 0 || !n.eventId) return;
  const eventId = n.eventId;
  const set = inflight.get(p.database) ?? new Set();
  inflight.set(p.database, set);
  for (const [i, c] of channels.entries()) {
    const task: Promise<void> = deliverTo(p, c, i, n)
      .then((d) =>
        p.database.db
          .update(alertEvents)
          .set({ deliveries: sql`${alertEvents.deliveries} || ${JSON.stringify([d])}::jsonb` })
          .where(eq(alertEvents.id, eventId))
          .then(() => undefined),
      )
      .catch((err: unknown) => {
        process.stderr.write(`sluice: recording an alert delivery failed: ${describeError(err)}\n`);
      })
      .finally(() => set.delete(task));
    set.add(task);
  }
}
