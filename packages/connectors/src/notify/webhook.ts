import { createHmac } from 'node:crypto';
import type { TaskContext } from '@sluice/core';
import { shown } from '../location/http-request.ts';
import type { NotifyConfig } from './config.ts';
import { postOnce } from './post.ts';

/** The header the signature travels in: the one Sluice's own pipeline webhooks check. */
export const SIGNATURE_HEADER = 'X-Sluice-Signature';

/**
 * `sha256=<hex HMAC-SHA256 of the raw body>`: what a notify step sends, and what the platform's
 * webhooks send and check (one scheme, one function).
 */
export function signBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What the receiver gets: the message with the job summary and the step's data. */
export function webhookBody(c: NotifyConfig, stepId: string, sentAt: Date): Record<string, unknown> {
  return {
    event: 'notify',
    step: stepId,
    subject: c.subject,
    message: c.message,
    run: c.run,
    data: c.data ?? {},
    sentAt: sentAt.toISOString(),
  };
}

export async function sendWebhook(ctx: TaskContext<NotifyConfig>, where: string): Promise<string> {
  const c = ctx.config;
  const url = c.url!;
  const body = JSON.stringify(webhookBody(c, ctx.stepId, new Date()));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'sluice-notify',
    'X-Sluice-Event': 'notify',
    ...c.headers,
  };
  // Set last, so that no configured header can replace it.
  if (c.secret !== undefined) headers[SIGNATURE_HEADER] = signBody(c.secret, body);
  const display = shown(url);
  const posted = await postOnce(ctx, { url, display, headers, body, timeoutMs: c.timeoutMs }, where);
  ctx.log.info(
    `posted "${c.subject}" to ${display} (HTTP ${posted.status}${c.secret === undefined ? '' : ', signed'})`,
  );
  return `posted to ${display} (HTTP ${posted.status})`;
}
