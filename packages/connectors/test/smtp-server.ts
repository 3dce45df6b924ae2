import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A message the server took: the envelope as sent, and the raw message (headers and MIME body). */
export interface Mail {
  user: string | undefined;
  from: string | undefined;
  to: string[];
  raw: string;
}

export interface SmtpOptions {
  /** The login the server takes; without it, no login is asked for. */
  login?: { user: string; password: string };
  /** Replies to RCPT TO for an address: `[code, text]` refuses it (`[550, 'no such user']`). */
  refuse?: (address: string) => [number, string] | undefined;
}

/** A real SMTP server (smtp-server on 127.0.0.1, port 0, no TLS) keeping each message it takes. */
export async function startSmtp(o: SmtpOptions = {}) {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: o.login ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    allowInsecureAuth: true,
    authOptional: o.login === undefined,
    logger: false,
    onAuth: (auth, _session, cb) =>
      auth.username === o.login?.user && auth.password === o.login?.password
        ? cb(null, { user: auth.username })
        : cb(new Error('Invalid username or password')),
    onRcptTo: (address, _session, cb) => {
      const refused = o.refuse?.(address.address);
      if (refused === undefined) return cb();
      const err = new Error(refused[1]) as Error & { responseCode: number };
      err.responseCode = refused[0];
      cb(err);
    },
    onData: (stream, session, cb) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          user: session.user as string | undefined,
          from: session.envelope.mailFrom === false ? undefined : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('latin1'),
        });
        cb();
      });
    },
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port)),
  );
  return {
    port,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The decoded bytes of the MIME part attached as `filename` (base64 or 7bit, as nodemailer writes
 * them); undefined when the message has no such part.
 */
export function attachment(raw: string, filename: string): Buffer | undefined {
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(raw)?.[1];
  if (boundary === undefined) return undefined;
  for (const part of raw.split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = part.slice(0, split);
    if (!head.includes(`filename=${filename}`) && !head.includes(`filename="${filename}"`)) continue;
    const body = part.slice(split + 4).replace(/\r\n$/, '');
    return /content-transfer-encoding:\s*base64/i.test(head)
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64')
      : Buffer.from(body, 'latin1');
  }
  return undefined;
}
