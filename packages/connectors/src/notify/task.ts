import { defineTask, type TaskContext, type TaskResult } from '@sluice/core';
import { NOTIFY_DEFAULTS, NotifyConfig, NotifyCredential, notifyIssues } from './config.ts';
import { notifyConnection } from './connection.ts';
import { sendEmail } from './email.ts';
import { sendSlack } from './slack.ts';
import { sendWebhook } from './webhook.ts';

async function run(ctx: TaskContext<NotifyConfig>): Promise<TaskResult> {
  const where = `step "${ctx.stepId}": notify (${ctx.config.channel})`;
  ctx.signal.throwIfAborted();
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  switch (ctx.config.channel) {
    case 'email': {
      const sent = await sendEmail(ctx, where);
      return {
        output: sent.output,
        metrics: {
          recipients: sent.recipients,
          attachments: sent.attachments,
          attachmentBytes: sent.attachmentBytes,
          durationMs: ms(),
        },
      };
    }
    case 'slack':
      return { output: await sendSlack(ctx, where), metrics: { durationMs: ms() } };
    case 'webhook':
      return { output: await sendWebhook(ctx, where), metrics: { durationMs: ms() } };
  }
}

export const notifyTask = defineTask({
  name: 'notify',
  // Sends a message or runs statements over the network: nothing a step process must contain.
  inWorker: true,
  version: '1.0.0',
  summary:
    'Sends a message about the run by email (SMTP, with attachments), to a Slack incoming webhook, or as a ' +
    'signed JSON POST to a webhook.',
  config: NotifyConfig,
  credentialSchema: NotifyCredential,
  check: notifyIssues,
  connection: notifyConnection,
  example: {
    channel: 'email',
    to: ['ops@example.com'],
    subject: NOTIFY_DEFAULTS.subject,
    message: 'Loaded ${steps.load.rowsWritten} rows.\n${run.url}',
    attachments: ['${steps.extract.files.report}'],
    smtp: { host: 'smtp.example.com', port: 587, user: 'etl', from: 'etl@example.com' },
    run: NOTIFY_DEFAULTS.run,
    timeoutMs: NOTIFY_DEFAULTS.timeoutMs,
  },
  run,
});
