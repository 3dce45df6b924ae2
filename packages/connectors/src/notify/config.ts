import { type Static, Type } from '@sinclair/typebox';
import type { Issue } from '@sluice/core';

/**
 * The notify task's config: one flat object for the three channels (as http's `auth`): forms and
 * the generated reference show one list of fields, and `notifyIssues` says which a channel needs
 * and which it cannot use, at their paths.
 *
 * The texts' defaults are templates: the runner fills in `${run.…}` and `${steps.…}` before the
 * task runs, so the task only sends the text it is given.
 */
export const NOTIFY_DEFAULTS = {
  subject: '[Sluice] ${run.pipeline}: ${run.status}',
  message:
    'Pipeline ${run.pipeline} ${run.status} after ${run.durationMs} ms (run ${run.id}, started ${run.startedAt}).\n' +
    '${run.url}',
  run: {
    id: '${run.id}',
    pipeline: '${run.pipeline}',
    status: '${run.status}',
    url: '${run.url}',
    startedAt: '${run.startedAt}',
    durationMs: '${run.durationMs}',
  },
  timeoutMs: 10_000,
} as const;

const address = Type.String({
  minLength: 3,
  description: 'An email address: `ops@example.com` or `Ops <ops@example.com>`.',
});

export const Smtp = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'The SMTP server.', examples: ['smtp.example.com'] }),
    port: Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: 587,
      description: 'Its port: 587 (STARTTLS), 465 (TLS) or 25.',
    }),
    secure: Type.Optional(
      Type.Boolean({
        description:
          'TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. Default: true on port 465.',
      }),
    ),
    user: Type.Optional(
      Type.String({
        description: 'Signs in as this user; without it the server is not asked to authenticate.',
      }),
    ),
    password: Type.Optional(Type.String({ writeOnly: true, description: "The user's password." })),
    from: Type.String({ minLength: 3, default: 'sluice@localhost', description: 'The sender address.' }),
  },
  {
    additionalProperties: false,
    description: 'email: the SMTP server that sends the mail (usually from a credential).',
  },
);

export const RunSummary = Type.Record(Type.String(), Type.Unknown(), {
  default: NOTIFY_DEFAULTS.run,
  description:
    "slack, webhook: the job summary sent with the message (the webhook body's `run`, the footer of a Slack " +
    "message). Its default is filled in by the runner from the run's own values; leave it out.",
});

export const NotifyConfig = Type.Object(
  {
    channel: Type.Union([Type.Literal('email'), Type.Literal('slack'), Type.Literal('webhook')], {
      description:
        'email: a message through an SMTP server (`to`, `smtp`, `attachments`); slack: a Slack incoming ' +
        'webhook (`webhookUrl`); webhook: a JSON POST to `url`, signed with `secret` when given.',
    }),
    subject: Type.String({
      minLength: 1,
      default: NOTIFY_DEFAULTS.subject,
      description:
        "The email's subject; the first, bold line of a Slack message; `subject` in a webhook's body.",
    }),
    message: Type.String({
      default: NOTIFY_DEFAULTS.message,
      description:
        'The text: may use `${steps.<id>.rowsWritten}`, `${steps.<id>.status}`, `${run.status}`, ' +
        '`${run.durationMs}`, `${run.url}` (the job page on the platform) and `${params.x}`. Slack reads it as mrkdwn.',
    }),
    to: Type.Optional(Type.Array(address, { minItems: 1, description: 'email: the recipients.' })),
    cc: Type.Optional(Type.Array(address, { description: 'email: copied recipients.' })),
    bcc: Type.Optional(Type.Array(address, { description: 'email: blind-copied recipients.' })),
    attachments: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description:
          "email: local files attached under their own names, usually an earlier step's output " +
          '(`${steps.extract.files.report}`); relative paths resolve against the task directory.',
      }),
    ),
    smtp: Type.Optional(Smtp),
    webhookUrl: Type.Optional(
      Type.String({
        minLength: 1,
        writeOnly: true,
        description:
          'slack: the incoming webhook URL (https://hooks.slack.com/services/…); a secret, never logged.',
      }),
    ),
    url: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'webhook: where the JSON is POSTed.',
        examples: ['https://example.com/hooks/etl'],
      }),
    ),
    headers: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: 'webhook: headers added to the request (an Authorization token from a credential).',
      }),
    ),
    secret: Type.Optional(
      Type.String({
        minLength: 1,
        writeOnly: true,
        description:
          'webhook: signs the body: `X-Sluice-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, the scheme ' +
          "Sluice's own pipeline webhooks check.",
      }),
    ),
    data: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          "slack, webhook: more values sent with the message: the webhook body's `data`, fields of the Slack " +
          'message (`rows: ${steps.load.rowsWritten}`).',
      }),
    ),
    run: RunSummary,
    timeoutMs: Type.Integer({
      minimum: 1,
      default: NOTIFY_DEFAULTS.timeoutMs,
      description: 'One try: the HTTP request, or the SMTP session, in milliseconds.',
    }),
  },
  { additionalProperties: false },
);
export type NotifyConfig = Static<typeof NotifyConfig>;
export type Channel = NotifyConfig['channel'];

/** The fields a stored credential may supply: the secrets and where they are used. */
export const NotifyCredential = Type.Object(
  {
    smtp: Type.Optional(Smtp),
    webhookUrl: Type.Optional(
      Type.String({ minLength: 1, writeOnly: true, description: 'slack: the incoming webhook URL.' }),
    ),
    secret: Type.Optional(
      Type.String({ minLength: 1, writeOnly: true, description: 'webhook: the signing secret.' }),
    ),
    headers: Type.Optional(
      Type.Record(Type.String(), Type.String({ writeOnly: true }), {
        description: 'webhook: headers such as Authorization; the step can add its own.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** The fields each channel needs, and those of a step (not of a credential) it would ignore. */
const NEEDS = {
  email: { needs: ['to', 'smtp'], foreign: ['url'] },
  slack: { needs: ['webhookUrl'], foreign: ['to', 'cc', 'bcc', 'attachments', 'url'] },
  webhook: { needs: ['url'], foreign: ['to', 'cc', 'bcc', 'attachments'] },
} as const satisfies Record<Channel, { needs: readonly string[]; foreign: readonly string[] }>;

const HINT: Record<string, string> = {
  to: 'list the recipients, e.g. `to: [ops@example.com]`',
  smtp: 'give `smtp: { host, port, user, password, from }`, or a credential that holds it',
  webhookUrl: "give the Slack incoming webhook's URL, best from a credential (it is a secret)",
  url: 'give the URL the JSON is POSTed to',
};

/** A URL that is set (not a template the runner fills in) must be http(s). */
function urlIssue(value: string | undefined, at: string): Issue[] {
  if (value === undefined || value.includes('${')) return [];
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    return [{ path: at, message: 'is not a URL; give an absolute http:// or https:// URL' }];
  }
  return protocol === 'http:' || protocol === 'https:'
    ? []
    : [{ path: at, message: `takes an http:// or https:// URL, not ${protocol}` }];
}

/** What the schema cannot say: which fields the chosen channel needs and which it cannot use. */
export function notifyIssues(c: NotifyConfig): Issue[] {
  const rule = NEEDS[c.channel];
  const issues: Issue[] = [];
  const fields = c as Record<string, unknown>;
  for (const k of rule.needs)
    if (fields[k] === undefined)
      issues.push({
        path: '',
        message: `missing required property "${k}" for channel ${c.channel}: ${HINT[k]}`,
      });
  for (const k of rule.foreign)
    if (fields[k] !== undefined)
      issues.push({
        path: k,
        message:
          `is not used by channel ${c.channel}` +
          (k === 'url' && c.channel === 'slack' ? '; a Slack webhook goes in `webhookUrl`' : '') +
          (k === 'attachments' ? '; only email sends attachments' : ''),
      });
  if (c.channel === 'slack') issues.push(...urlIssue(c.webhookUrl, 'webhookUrl'));
  if (c.channel === 'webhook') issues.push(...urlIssue(c.url, 'url'));
  return issues;
}
