import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConnectorConnection, ErrorCode, runPipeline, toSluiceError } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoSecret, failureOf } from '../../test/conformance-checks.ts';
import { runTask } from '../../test/harness.ts';
import { attachment, startSmtp } from '../../test/smtp-server.ts';
import { createRegistry } from '../registry.ts';
import { notifyTask } from './task.ts';

// The email channel against a real SMTP server (smtp-server on a loopback port) that asks for a
// login, and a second one that refuses some recipients.

const PASSWORD = 'smtp-Pa55-notify';
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let picky: Awaited<ReturnType<typeof startSmtp>>;
const dir = mkdtempSync(join(tmpdir(), 'sluice-notify-email-'));

beforeAll(async () => {
  smtp = await startSmtp({ login: { user: 'etl', password: PASSWORD } });
  picky = await startSmtp({
    refuse: (a) =>
      a.startsWith('gone@')
        ? [550, 'no such user']
        : a.startsWith('full@')
          ? [452, 'mailbox full']
          : undefined,
  });
});
afterAll(async () => {
  await smtp?.close();
  await picky?.close();
});

const server = (over: Record<string, unknown> = {}) => ({
  host: '127.0.0.1',
  port: smtp.port,
  user: 'etl',
  password: PASSWORD,
  from: 'etl@example.com',
  ...over,
});

describe('notify: email', () => {
  it('sends the subject and message to every recipient, with attachments byte for byte', async () => {
    mkdirSync(join(dir, 'out'), { recursive: true });
    writeFileSync(join(dir, 'out', 'report.csv'), 'id,name\n1,Ann\n2,Bob\n');
    const binary = randomBytes(70_000);
    binary[0] = 0;
    writeFileSync(join(dir, 'report.pdf'), binary);
    const logs: string[] = [];
    const before = smtp.mails.length;
    const result = await runTask(
      notifyTask,
      {
        channel: 'email',
        to: ['ops@example.com', 'lead@example.com'],
        cc: ['audit@example.com'],
        bcc: ['archive@example.com'],
        subject: '[Sluice] portal-report: success',
        message: 'Loaded 42 rows.\nJob: http://localhost:3000/jobs/7',
        attachments: ['out/report.csv', join(dir, 'report.pdf')],
        smtp: server(),
      },
      { baseDir: dir, logs },
    );
    expect(smtp.mails.length - before).toBe(1);
    const mail = smtp.mails.at(-1)!;
    expect(mail.user).toBe('etl');
    expect(mail.from).toBe('etl@example.com');
    expect(mail.to).toEqual([
      'ops@example.com',
      'lead@example.com',
      'audit@example.com',
      'archive@example.com',
    ]);
    expect(mail.raw).toMatch(/^Subject: \[Sluice\] portal-report: success\r$/m);
    expect(mail.raw).toMatch(/^To: ops@example.com, lead@example.com\r$/m);
    expect(mail.raw).not.toMatch(/^Bcc:/m);
    expect(mail.raw).toContain('Loaded 42 rows.\r\nJob: http://localhost:3000/jobs/7');
    expect(attachment(mail.raw, 'report.csv')?.toString()).toBe('id,name\n1,Ann\n2,Bob\n');
    expect(attachment(mail.raw, 'report.pdf')?.equals(binary)).toBe(true);
    expect(result).toMatchObject({
      output: expect.stringMatching(
        /^sent to 4 recipient\(s\) through 127\.0\.0\.1:\d+ with report\.csv, report\.pdf$/,
      ),
      metrics: { recipients: 4, attachments: 2, attachmentBytes: 20 + 70_000 },
    });
    expect(logs.join('\n')).toContain('sent "[Sluice] portal-report: success" to ops@example.com');
    expect(logs.join('\n')).not.toContain(PASSWORD);
  });

  it('names a missing attachment by its index and sends nothing', async () => {
    writeFileSync(join(dir, 'here.txt'), 'x');
    const before = smtp.mails.length;
    const err = await failureOf(
      runTask(
        notifyTask,
        {
          channel: 'email',
          to: ['ops@example.com'],
          attachments: ['here.txt', 'out/missing.csv'],
          smtp: server(),
        },
        { baseDir: dir },
      ),
    );
    expect(err).toMatchObject({ code: ErrorCode.NOT_FOUND, retryable: false });
    expect(err.message).toMatch(/config\.attachments\[1\]: no file at .*out\/missing\.csv/);
    expect(smtp.mails.length).toBe(before);
  });

  it('a refused login is fatal and says which fields to check, without the password', async () => {
    const logs: string[] = [];
    const err = await runTask(
      notifyTask,
      { channel: 'email', to: ['ops@example.com'], smtp: server({ password: `${PASSWORD}-wrong` }) },
      { logs },
    ).catch((e: unknown) => e);
    expect(toSluiceError(err)).toMatchObject({ code: ErrorCode.CONFIG, retryable: false });
    expect((err as Error).message).toMatch(
      /refused the login of user "etl".*check smtp\.user and smtp\.password/,
    );
    expectNoSecret(err, logs, PASSWORD);
  });

  it('a recipient refused for good is fatal; a mailbox busy for now is retryable', async () => {
    const send = (to: string[]) =>
      failureOf(runTask(notifyTask, { channel: 'email', to, smtp: { host: '127.0.0.1', port: picky.port } }));
    const gone = await send(['gone@example.com']);
    expect(gone).toMatchObject({ retryable: false });
    expect(gone.message).toMatch(/refused the message \(.*550.*no such user.*\)/);
    const full = await send(['full@example.com']);
    expect(full).toMatchObject({ retryable: true });
    expect(full.message).toMatch(/deferred the message \(.*452.*mailbox full/);
  });

  it('when the server takes the message for some recipients, it is sent and the others are warned of', async () => {
    const logs: string[] = [];
    const before = picky.mails.length;
    const result = await runTask(
      notifyTask,
      {
        channel: 'email',
        to: ['ops@example.com', 'gone@example.com'],
        smtp: { host: '127.0.0.1', port: picky.port },
      },
      { logs },
    );
    expect(picky.mails.length - before).toBe(1);
    expect(picky.mails.at(-1)!.to).toEqual(['ops@example.com']);
    expect(result?.metrics?.recipients).toBe(1);
    expect(logs).toContainEqual(expect.stringMatching(/^warn .*refused the recipients gone@example\.com/));
  });

  it('refuses an SMTP host the network policy keeps out, before connecting', async () => {
    const err = await failureOf(
      runTask(notifyTask, {
        channel: 'email',
        to: ['ops@example.com'],
        smtp: { host: '169.254.169.254', port: 25 },
      }),
    );
    expect(err).toMatchObject({ code: ErrorCode.HOST_FORBIDDEN, retryable: false });
    expect(err.message).toMatch(/smtp\.host: the host 169\.254\.169\.254 is refused/);
  });

  it('in a pipeline: the SMTP server and login come from a credential, the texts from the step', async () => {
    const before = smtp.mails.length;
    const report = await runPipeline(
      {
        name: 'notify-email-credential',
        steps: [
          {
            id: 'tell',
            task: 'notify',
            credential: 'mail',
            with: { channel: 'email', to: ['ops@example.com'], subject: 'done', message: 'all good' },
          },
        ],
      },
      {
        registry: createRegistry(),
        baseDir: dir,
        stateDir: join(dir, 'state-credential'),
        credentials: { mail: { smtp: server() } },
      },
    );
    expect(report.status, JSON.stringify(report.error)).toBe('success');
    expect(smtp.mails.length - before).toBe(1);
    expect(smtp.mails.at(-1)).toMatchObject({
      user: 'etl',
      from: 'etl@example.com',
      to: ['ops@example.com'],
    });
    expect(JSON.stringify(report)).not.toContain(PASSWORD);
  });

  it("a credential's Test signs in to the SMTP server and sends nothing", async () => {
    const before = smtp.mails.length;
    const test = (password: string) =>
      checkConnectorConnection(
        createRegistry(),
        'notify',
        { smtp: server({ password }) },
        { signal: new AbortController().signal, baseDir: dir, stepId: 'credential test' },
        { name: 'connectorType', config: 'data' },
      );
    expect((await test(PASSWORD)).message).toMatch(/^connected to the SMTP server 127\.0\.0\.1:\d+ as etl$/);
    const err = await failureOf(test('wrong-password'));
    expect(err).toMatchObject({ code: ErrorCode.CONFIG });
    expect(err.message).toMatch(/refused the login of user "etl"/);
    expect(smtp.mails.length).toBe(before);
  });
});
