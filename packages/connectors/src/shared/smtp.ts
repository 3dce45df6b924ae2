import { isIP, Socket } from 'node:net';
import {
  type ComponentContext,
  checkHost,
  ErrorCode,
  FatalError,
  type NetContext,
  RetryableError,
  type SluiceError,
} from '@sluice/core';
import type nodemailer from 'nodemailer';

/** Where mail is handed over and who signs in: a notify task's `smtp`, an alert channel's fields. */
export interface SmtpSettings {
  host: string;
  /** @defaultValue 587 */
  port?: number | undefined;
  /** TLS from the first byte; else STARTTLS when the server offers it. @defaultValue port === 465 */
  secure?: boolean | undefined;
  user?: string | undefined;
  password?: string | undefined;
  /** @defaultValue 'sluice@localhost' */
  from?: string | undefined;
}

export interface MailMessage {
  to: string[];
  cc?: string[] | undefined;
  bcc?: string[] | undefined;
  subject: string;
  text: string;
  /** Local files, already resolved under the run's path policy. */
  attachments?: { filename: string; path: string }[] | undefined;
}

export interface SmtpSendOptions {
  /** Bounds connecting, the greeting and every wait for the server after. */
  timeoutMs: number;
  /** Names the sender in messages: `step "notify": notify task`, `email channel`. */
  where: string;
  /** The run's network policy; absent, only the built-in refusals hold. */
  net?: NetContext | undefined;
  /** Stops the session: the send then rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  guardConnect?: ComponentContext<unknown>['guardConnect'];
}

export interface MailSent {
  /** Recipients the server accepted, and those it refused while taking the message for others. */
  accepted: string[];
  rejected: string[];
  /** `host:port`, for messages. */
  server: string;
}

export const SMTP_DEFAULTS = { port: 587, from: 'sluice@localhost' } as const satisfies Partial<SmtpSettings>;

/**
 * Sends one message in one SMTP session. The host is checked against the network policy and the
 * session goes to the address that was checked (the name stays the TLS server name), so a DNS
 * answer that changes in between cannot lead it elsewhere. Throws RetryableError for what a later
 * try may not meet (no connection, a timeout, a 4xx reply) and FatalError for what it will
 * (a refused login, a 5xx reply such as an unknown mailbox); no message holds the password.
 */
export async function sendMail(smtp: SmtpSettings, mail: MailMessage, o: SmtpSendOptions): Promise<MailSent> {
  return session(smtp, o, async (transport, server) => {
    const info = await transport.sendMail({
      from: smtp.from ?? SMTP_DEFAULTS.from,
      to: mail.to,
      ...(mail.cc?.length ? { cc: mail.cc } : {}),
      ...(mail.bcc?.length ? { bcc: mail.bcc } : {}),
      subject: mail.subject,
      text: mail.text,
      ...(mail.attachments?.length ? { attachments: mail.attachments } : {}),
    });
    const addresses = (list: unknown[] | undefined) =>
      (list ?? []).map((a) => (typeof a === 'string' ? a : (a as { address: string }).address));
    return { accepted: addresses(info.accepted), rejected: addresses(info.rejected), server };
  });
}

/**
 * Connects and signs in as sendMail would, sending nothing (a credential's Test); resolves to
 * what it found. Throws as sendMail does.
 */
export async function verifySmtp(smtp: SmtpSettings, o: SmtpSendOptions): Promise<string> {
  return session(smtp, o, async (transport, server) => {
    await transport.verify();
    return `connected to the SMTP server ${server}${smtp.user ? ` as ${smtp.user}` : ''}`;
  });
}

type Transport = ReturnType<typeof nodemailer.createTransport>;

/** One SMTP session for `use`: checked, cancellable, bounded by the timeout, its errors ours. */
async function session<T>(
  smtp: SmtpSettings,
  o: SmtpSendOptions,
  use: (transport: Transport, server: string) => Promise<T>,
): Promise<T> {
  const port = smtp.port ?? SMTP_DEFAULTS.port;
  const server = `${smtp.host}:${port}`;
  const where = `${o.where}: SMTP server ${server}`;
  const [checked] = await checkHost(o.net ?? {}, smtp.host, `${o.where} smtp.host`);
  o.signal?.throwIfAborted();
  // nodemailer takes no signal: it connects a socket of ours, which a cancel destroys.
  const socket = new Socket();
  // Loaded on first use: only a notify step or an email alert sends mail.
  const { default: mailer } = await import('nodemailer');
  const transport = mailer.createTransport({
    getSocket: (_options, callback) => callback(null, { socket }),
    host: checked?.address ?? smtp.host,
    port,
    secure: smtp.secure ?? port === 465,
    ...(isIP(smtp.host) === 0 ? { tls: { servername: smtp.host } } : {}),
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
    connectionTimeout: o.timeoutMs,
    greetingTimeout: o.timeoutMs,
    socketTimeout: o.timeoutMs,
  });
  // nodemailer hears of a socket closed before the greeting only when the greeting times out:
  // a cancel destroys the socket and leaves at once, and the session settles unheard.
  let cancel: (reason: unknown) => void = () => undefined;
  const cancelled = new Promise<never>((_resolve, reject) => {
    cancel = reject;
  });
  cancelled.catch(() => undefined);
  const stop = () => {
    socket.destroy();
    cancel(o.signal?.reason);
  };
  o.signal?.addEventListener('abort', stop, { once: true });
  const run = async () => {
    const using = use(transport, server);
    using.catch(() => undefined);
    try {
      return await Promise.race([using, cancelled]);
    } catch (err) {
      if (o.signal?.aborted) throw o.signal.reason;
      throw smtpFailure(err, where, smtp);
    }
  };
  try {
    return o.guardConnect ? await o.guardConnect(server, run) : await run();
  } finally {
    o.signal?.removeEventListener('abort', stop);
    transport.close();
    socket.destroy();
  }
}

/** nodemailer's error as one of ours: its `code` says which stage failed, `responseCode` what the server said. */
function smtpFailure(err: unknown, where: string, smtp: SmtpSettings): SluiceError {
  const e = err as Error & { code?: string; responseCode?: number; response?: string };
  const masked = (text: string) =>
    smtp.password && smtp.password.length >= 4 ? text.replaceAll(smtp.password, '***') : text;
  const said = masked(e.response?.trim() || e.message);
  if (e.code === 'EAUTH')
    return new FatalError(
      `${where} refused the login of user "${smtp.user ?? ''}" (${said}); check smtp.user and smtp.password ` +
        'in the config or its credential',
      { code: ErrorCode.CONFIG },
    );
  if (e.responseCode !== undefined && e.responseCode >= 400 && e.responseCode < 500)
    return new RetryableError(`${where} deferred the message (${said}); try again later`, {
      code: ErrorCode.TASK_FAILED,
    });
  if (e.responseCode !== undefined && e.responseCode >= 500)
    return new FatalError(`${where} refused the message (${said}); check the recipients and smtp.from`, {
      code: ErrorCode.TASK_FAILED,
    });
  if (e.code === 'ECONNECTION' || e.code === 'ETIMEDOUT' || e.code === 'ESOCKET' || e.code === 'EDNS')
    return new RetryableError(
      `${where}: the connection failed (${masked(e.message)}); check smtp.host, smtp.port and smtp.secure ` +
        '(true for port 465, false for 587 and 25)',
    );
  if (e.code === 'ETLS')
    return new FatalError(
      `${where}: TLS failed (${masked(e.message)}); check smtp.secure and the certificate`,
      {
        code: ErrorCode.CONFIG,
      },
    );
  return new FatalError(`${where}: ${masked(e.message)}`, { code: ErrorCode.TASK_FAILED });
}
