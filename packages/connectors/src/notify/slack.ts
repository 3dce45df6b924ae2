import type { TaskContext } from '@sluice/core';
import type { NotifyConfig } from './config.ts';
import { postOnce } from './post.ts';

/** Slack's limits: a section's text, a field's text, and fields per section. */
const SLACK = { sectionChars: 3000, fieldChars: 2000, fields: 10 } as const;

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const asText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * The message as Slack's incoming webhook takes it: `text` (what notifications and old clients
 * show) and blocks: the subject in bold over the message, `data` as fields, the run in a footer.
 */
export function slackBody(c: NotifyConfig): { text: string; blocks: unknown[] } {
  const text = c.message === '' ? `*${c.subject}*` : `*${c.subject}*\n${c.message}`;
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: cut(text, SLACK.sectionChars) } },
  ];
  const data = Object.entries(c.data ?? {});
  if (data.length > 0)
    blocks.push({
      type: 'section',
      fields: data.slice(0, SLACK.fields).map(([k, v]) => ({
        type: 'mrkdwn',
        text: cut(`*${k}*\n${asText(v)}`, SLACK.fieldChars),
      })),
    });
  const run = c.run as Record<string, unknown>;
  const footer = [
    run.pipeline ? `pipeline *${asText(run.pipeline)}*` : '',
    run.status ? `status *${asText(run.status)}*` : '',
    run.id ? `run \`${asText(run.id)}\`` : '',
    // Empty on the CLI, which has no job page.
    run.url ? `<${asText(run.url)}|job page>` : '',
  ].filter((s) => s !== '');
  if (footer.length > 0)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: footer.join(' · ') }] });
  return { text: cut(text, SLACK.sectionChars), blocks };
}

/** The webhook URL as messages and the log show it: its path is the secret. */
export function slackDisplay(url: string): string {
  try {
    return `Slack webhook ${new URL(url).origin}/…`;
  } catch {
    return 'Slack webhook (URL hidden)';
  }
}

export async function sendSlack(ctx: TaskContext<NotifyConfig>, where: string): Promise<string> {
  const c = ctx.config;
  const url = c.webhookUrl!;
  const display = slackDisplay(url);
  const posted = await postOnce(
    ctx,
    {
      url,
      display,
      headers: { 'content-type': 'application/json', 'user-agent': 'sluice-notify' },
      body: JSON.stringify(slackBody(c)),
      timeoutMs: c.timeoutMs,
    },
    where,
  );
  ctx.log.info(`posted "${c.subject}" to ${display} (HTTP ${posted.status})`);
  return `posted to ${display}`;
}
