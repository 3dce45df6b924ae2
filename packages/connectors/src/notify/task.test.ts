import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { checkConnectorConnection, ErrorCode, planPipeline, toSluiceError } from '@sluice/core';
import { afterAll, describe, expect, it } from 'vitest';
import { taskConformance } from '../../test/conformance.ts';
import { expectRejectedAt } from '../../test/conformance-checks.ts';
import { runTask } from '../../test/harness.ts';
import { createRegistry } from '../registry.ts';
import { NOTIFY_DEFAULTS } from './config.ts';
import { notifyTask } from './task.ts';

// Servers that take a connection and never answer: an HTTP endpoint and an SMTP server that sends
// no greeting. A port nobody listens on, for a delivery that fails.
const sockets = new Set<Socket>();
const hold = (s: Socket) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
};
async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}
const silentHttp = createHttpServer(() => undefined);
silentHttp.on('connection', hold);
const silentSmtp = createServer(hold);
const httpPort = await listen(silentHttp);
const smtpPort = await listen(silentSmtp);
const closed = createServer();
const closedPort = await listen(closed);
await new Promise((r) => closed.close(r));
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silentHttp.close(r));
  await new Promise((r) => silentSmtp.close(r));
});

const SLACK_SECRET = 'T0SECRET/B0SECRET/conformanceSlackPath';

taskConformance('notify', {
  def: notifyTask,
  badConfig: { channel: 'slack', webhookUrl: 'https://hooks.slack.com/services/x', attachments: ['a.csv'] },
  badPath: 'with.attachments',
  endless: { channel: 'webhook', url: `http://127.0.0.1:${httpPort}/hook`, timeoutMs: 60_000 },
  secret: {
    secret: SLACK_SECRET,
    config: () => ({
      channel: 'slack',
      webhookUrl: `http://127.0.0.1:${closedPort}/services/${SLACK_SECRET}`,
    }),
  },
});

describe('notify: config', () => {
  it('has an example that passes its own schema and checks', () => {
    expect(createRegistry().check(notifyTask, structuredClone(notifyTask.example), 'with')).toEqual([]);
  });

  it('rejects what a channel needs or cannot use at the JSON path at fault', () => {
    const smtp = { host: 'smtp.example.com' };
    expectRejectedAt(notifyTask, { channel: 'sms', message: 'x' }, 'with.channel');
    expectRejectedAt(notifyTask, { channel: 'email', smtp }, 'with.to');
    expectRejectedAt(notifyTask, { channel: 'email', to: ['ops@example.com'] }, 'with.smtp');
    expectRejectedAt(
      notifyTask,
      { channel: 'email', to: ['ops@example.com'], smtp: { host: 'h', port: 0 } },
      'with.smtp.port',
    );
    expectRejectedAt(
      notifyTask,
      { channel: 'email', to: ['ops@example.com'], smtp, attachments: 'a.csv' },
      'with.attachments',
    );
    expectRejectedAt(notifyTask, { channel: 'slack' }, 'with.webhookUrl');
    expectRejectedAt(
      notifyTask,
      {
        channel: 'slack',
        webhookUrl: 'https://hooks.slack.com/services/x',
        url: 'https://hooks.slack.com/services/x',
      },
      'with.url',
    );
    expectRejectedAt(notifyTask, { channel: 'webhook', url: 'ftp://example.com/in' }, 'with.url');
    expectRejectedAt(notifyTask, { channel: 'webhook', url: 'example.com/in' }, 'with.url');
    expectRejectedAt(
      notifyTask,
      { channel: 'webhook', url: 'https://example.com', to: ['a@b.c'] },
      'with.to',
    );
    expectRejectedAt(notifyTask, { channel: 'webhook', url: 'https://example.com', sms: true }, 'with.sms');
  });

  it('says how to fix a missing field, and that a Slack hook goes in webhookUrl', () => {
    const issues = createRegistry().check(
      notifyTask,
      { channel: 'slack', url: 'https://hooks.slack.com/x' },
      'with',
    );
    expect(issues).toEqual([
      {
        path: 'with',
        message: expect.stringMatching(/missing required property "webhookUrl" for channel slack: give/),
      },
      { path: 'with.url', message: 'is not used by channel slack; a Slack webhook goes in `webhookUrl`' },
    ]);
  });

  it('keeps its ${run.…} templates through planning, for the runner to fill in; ${params.x} is filled in at once', () => {
    const plan = planPipeline(
      {
        name: 'notify-plan',
        parameters: { who: { type: 'string' } },
        steps: [
          {
            id: 'tell',
            task: 'notify',
            with: { channel: 'webhook', url: 'https://example.com/in', data: { who: '${params.who}' } },
          },
        ],
      },
      { registry: createRegistry(), params: { who: 'ops' } },
    );
    const step = plan.steps[0]!;
    expect(step.kind).toBe('task');
    const config = (step as { task: { config: Record<string, unknown> } }).task.config;
    expect(config).toMatchObject({
      subject: NOTIFY_DEFAULTS.subject,
      message: NOTIFY_DEFAULTS.message,
      run: NOTIFY_DEFAULTS.run,
      data: { who: 'ops' },
    });
  });
});

describe('notify: cancel and failures', () => {
  it('cancel ends an SMTP session the server never greets', async () => {
    const ac = new AbortController();
    const running = runTask(
      notifyTask,
      {
        channel: 'email',
        to: ['ops@example.com'],
        smtp: { host: '127.0.0.1', port: smtpPort },
        timeoutMs: 60_000,
      },
      { signal: ac.signal },
    ).catch((e: unknown) => e);
    setTimeout(() => ac.abort(new Error('cancelled by test')), 200);
    const err = await running;
    expect((err as Error).message).toBe('cancelled by test');
  });

  it('an endpoint that does not answer in timeoutMs is a retryable failure', async () => {
    const err = toSluiceError(
      await runTask(notifyTask, {
        channel: 'webhook',
        url: `http://127.0.0.1:${httpPort}/slow`,
        timeoutMs: 200,
      }).catch((e: unknown) => e),
    );
    expect(err).toMatchObject({ retryable: true });
    expect(err.message).toMatch(/no response within 200 ms/);
  });

  it('a connection refused is retryable, for email and HTTP alike', async () => {
    for (const config of [
      { channel: 'webhook', url: `http://127.0.0.1:${closedPort}/in` },
      { channel: 'email', to: ['ops@example.com'], smtp: { host: '127.0.0.1', port: closedPort } },
    ]) {
      const err = toSluiceError(await runTask(notifyTask, config).catch((e: unknown) => e));
      expect(err, err.message).toMatchObject({ retryable: true, code: ErrorCode.CONNECTION });
    }
  });

  it("a Slack credential's Test checks the host without posting, and does not show the URL", async () => {
    const { message } = await checkConnectorConnection(
      createRegistry(),
      'notify',
      { webhookUrl: `http://127.0.0.1:${httpPort}/services/${SLACK_SECRET}` },
      { signal: new AbortController().signal, baseDir: process.cwd(), stepId: 'credential test' },
      { name: 'connectorType', config: 'data' },
    );
    expect(message).toBe(
      `Slack webhook http://127.0.0.1:${httpPort}/…: the host resolves and the network policy allows it; ` +
        'nothing was posted (a webhook is only tested by a message)',
    );
  });
});
