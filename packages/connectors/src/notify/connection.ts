import { type Static, Type } from '@sinclair/typebox';
import { type ConnectionCheck, checkUrl, ErrorCode, FatalError } from '@sluice/core';
import { shown } from '../location/http-request.ts';
import { verifySmtp } from '../shared/smtp.ts';
import { NOTIFY_DEFAULTS, Smtp } from './config.ts';
import { slackDisplay } from './slack.ts';

const CheckConfig = Type.Object({
  channel: Type.Optional(
    Type.Union([Type.Literal('email'), Type.Literal('slack'), Type.Literal('webhook')], {
      description: 'The channel to test; without it, the one the credential has fields for.',
    }),
  ),
  smtp: Type.Optional(Smtp),
  webhookUrl: Type.Optional(Type.String({ minLength: 1 })),
  url: Type.Optional(Type.String({ minLength: 1 })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
});

/**
 * A notify credential's Test. Email: connects to the SMTP server and signs in, sending nothing.
 * Slack and webhooks answer only by taking a message, so for them the test goes as far as it can
 * without posting one: the URL's host resolves and the network policy lets the step reach it.
 */
export const notifyConnection = {
  config: CheckConfig,
  async check(config: Static<typeof CheckConfig>, ctx) {
    const channel =
      config.channel ??
      (config.smtp ? 'email' : config.webhookUrl ? 'slack' : config.url ? 'webhook' : undefined);
    const where = 'notify';
    if (channel === 'email') {
      if (!config.smtp)
        throw new FatalError(`${where}: give smtp.host (and the login) to test the email channel`, {
          code: ErrorCode.CONFIG,
        });
      return verifySmtp(config.smtp, {
        timeoutMs: config.timeoutMs ?? NOTIFY_DEFAULTS.timeoutMs,
        where,
        net: ctx,
        signal: ctx.signal,
      });
    }
    const url = channel === 'slack' ? config.webhookUrl : channel === 'webhook' ? config.url : undefined;
    if (url === undefined)
      throw new FatalError(
        `${where}: nothing to test: give smtp (email), webhookUrl (slack) or url (webhook), or the channel`,
        { code: ErrorCode.CONFIG },
      );
    const display = channel === 'slack' ? slackDisplay(url) : shown(url);
    await checkUrl(ctx, url, `${where} ${channel === 'slack' ? 'webhookUrl' : 'url'}`);
    return `${display}: the host resolves and the network policy allows it; nothing was posted (a webhook is only tested by a message)`;
  },
} satisfies ConnectionCheck<typeof CheckConfig>;
