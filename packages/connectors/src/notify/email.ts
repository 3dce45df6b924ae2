import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ErrorCode, FatalError, resolveLocalPath, type TaskContext } from '@sluice/core';
import { sendMail } from '../shared/smtp.ts';
import type { NotifyConfig } from './config.ts';

export interface EmailSent {
  output: string;
  recipients: number;
  attachments: number;
  attachmentBytes: number;
}

/** Each attachment as a checked local file; a missing one is named by its index before anything is sent. */
async function attachments(ctx: TaskContext<NotifyConfig>, where: string) {
  const out: { filename: string; path: string; bytes: number }[] = [];
  for (const [i, given] of (ctx.config.attachments ?? []).entries()) {
    const at = `${where}: config.attachments[${i}]`;
    const path = await resolveLocalPath({ ...ctx, baseDir: ctx.workDir }, given, at);
    const s = await stat(path).catch(() => undefined);
    if (s === undefined || !s.isFile())
      throw new FatalError(
        `${at}: ${s === undefined ? 'no file' : 'not a file'} at ${path}; check the path, or that the step ` +
          'that makes it (`${steps.<id>.files.<name>}`) ran and wrote it',
        { code: ErrorCode.NOT_FOUND },
      );
    out.push({ filename: basename(path), path, bytes: s.size });
  }
  return out;
}

export async function sendEmail(ctx: TaskContext<NotifyConfig>, where: string): Promise<EmailSent> {
  const c = ctx.config;
  const files = await attachments(ctx, where);
  const to = c.to ?? [];
  const sent = await sendMail(
    c.smtp!,
    {
      to,
      cc: c.cc,
      bcc: c.bcc,
      subject: c.subject,
      text: c.message,
      attachments: files.map(({ filename, path }) => ({ filename, path })),
    },
    {
      timeoutMs: c.timeoutMs,
      where,
      net: ctx,
      signal: ctx.signal,
      guardConnect: ctx.guardConnect?.bind(ctx),
    },
  );
  const attached = files.length === 0 ? '' : ` with ${files.map((f) => f.filename).join(', ')}`;
  ctx.log.info(`sent "${c.subject}" to ${sent.accepted.join(', ')}${attached} through ${sent.server}`);
  // The server took the message for the others: sending again would reach them twice.
  if (sent.rejected.length > 0)
    ctx.log.warn(`the SMTP server refused the recipients ${sent.rejected.join(', ')}`);
  return {
    output: `sent to ${sent.accepted.length} recipient(s) through ${sent.server}${attached}`,
    recipients: sent.accepted.length,
    attachments: files.length,
    attachmentBytes: files.reduce((n, f) => n + f.bytes, 0),
  };
}
