import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { jobExecutions } from '../src/db/schema.ts';
import { configureAlerts, type Delivery, deliveriesSettled } from '../src/services/alert-channels.ts';
import { listAlertEvents } from '../src/services/alert-events.ts';
import { type Channel, createRule } from '../src/services/alert-rules.ts';
import { createCredential } from '../src/services/credentials.ts';
import { executePipeline } from '../src/services/jobs.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { apiCaller, type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

const SLACK_SECRET = 'k3QvY8hookPathSecret';

// Real jobs on a real worker, telling receivers this test starts: an HTTP server (webhook and
// Slack), an SMTP server (email), one answering 500, one port nobody listens on.
const SMTP_PASSWORD = 'smtp-pass-4711';
const HEADER_SECRET = 'hdr-secret-0815';

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  at: number;
}
interface Mail {
  user: unknown;
  to: string[];
  data: string;
}

let p: TestPlatform;
let worker: Worker;
let app: App;
let http: Server;
let smtp: SMTPServer;
let base: string;
let smtpPort: number;
let closedPort: number;
const hits: Hit[] = [];
const mails: Mail[] = [];
let flaky = 0;

const listen = (s: Server) =>
  new Promise<number>((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)),
  );

beforeAll(async () => {
  http = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      hits.push({ path: req.url!, headers: req.headers, body: JSON.parse(text), at: Date.now() });
      if (req.url === '/fail') return res.writeHead(500).end('boom');
      if (req.url === '/flaky') return res.writeHead(++flaky <= 2 ? 503 : 200).end();
      if (req.url === '/slow') return setTimeout(() => res.writeHead(200).end(), 1500);
      res.writeHead(200).end('ok');
    });
  });
  base = `http://127.0.0.1:${await listen(http)}`;
  const closed = createServer();
  closedPort = await listen(closed);
  await new Promise((r) => closed.close(r));
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth: (auth, _session, cb) =>
      auth.username === 'alerts' && auth.password === SMTP_PASSWORD
        ? cb(null, { user: auth.username })
        : cb(new Error('invalid login')),
    onData: (stream, session, cb) => {
      let data = '';
      stream.on('data', (c) => (data += c));
      stream.on('end', () => {
        mails.push({ user: session.user, to: session.envelope.rcptTo.map((r) => r.address), data });
        cb();
      });
    },
  });
  smtpPort = await new Promise<number>((resolve) =>
    smtp.listen(0, '127.0.0.1', () => resolve((smtp.server.address() as AddressInfo).port)),
  );
  p = await testPlatform('pglite');
  configureAlerts(p, { deliveryAttempts: 3, firstRetryMs: 20, maxRetryMs: 100, timeoutMs: 3000 });
  await createCredential(
    p,
    { name: 'smtp', connectorType: 'smtp', data: { user: 'alerts', password: SMTP_PASSWORD } },
    'tester',
  );
  worker = await startWorker(p, { concurrency: 2, killGraceMs: 1000 });
  app = await buildApp(p, { rateLimit: 100_000 });
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  await app?.close();
  if (p) await deliveriesSettled(p);
  await p?.close();
  await new Promise((r) => http?.close(r));
  await new Promise((r) => smtp?.close(() => r(undefined)));
});

// A pipeline whose run fails with the exit code given as a parameter (0: success).
async function exitPipeline(name: string) {
  return (
    await createPipeline(
      p,
      {
        spec: {
          name,
          parameters: { type: 'object', properties: { code: { type: 'integer', default: 0 } } },
          steps: [{ id: 'exit', task: 'shell', with: { command: ['sh', '-c', 'exit ${params.code}'] } }],
        },
      },
      'tester',
    )
  ).id;
}

const run = async (pipelineId: string, code: number) =>
  waitForJob(p, await executePipeline(p, pipelineId, { parameters: { code }, triggerType: 'manual' }));

async function eventOf(
  pipelineId: string,
  until: (e: { status: string; deliveries: Delivery[] }) => boolean,
) {
  const end = Date.now() + 15_000;
  for (;;) {
    const [e] = (await listAlertEvents(p, { limit: 1, offset: 0, pipelineId })).items;
    if (e && until(e)) return e;
    if (Date.now() > end) throw new Error(`no matching alert event: ${JSON.stringify(e)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('alert channels', () => {
  it('a failed job alerts every channel; failing channels are retried and recorded; a success resolves it', async () => {
    const pipe = await exitPipeline('nightly');
    const channels: Channel[] = [
      { type: 'webhook', url: `${base}/hook`, headers: { 'x-token': HEADER_SECRET } },
      // Shaped like a Slack incoming-webhook URL: its path is the secret the API must mask.
      { type: 'slack', url: `${base}/slack/services/T01SLUICE/B01ALERTS/${SLACK_SECRET}` },
      { type: 'email', to: ['ops@example.com'], host: '127.0.0.1', port: smtpPort, credential: 'smtp' },
      { type: 'webhook', url: `${base}/fail` },
      { type: 'webhook', url: `http://127.0.0.1:${closedPort}/nobody` },
    ];
    const rule = await createRule(p, {
      name: 'nightly failed',
      severity: 'critical',
      condition: { type: 'job_failed', pipelineId: pipe },
      channels,
    });

    const failed = await run(pipe, 3);
    expect(failed.status, 'the job fails as it would without alerts').toBe('failed');
    const e = await eventOf(pipe, (x) => x.deliveries.length === 5);
    expect(e).toMatchObject({ status: 'firing', ruleId: rule.id, jobId: failed.id, pipelineName: 'nightly' });
    expect(e.message).toMatch(/pipeline "nightly": job \S+ failed: /);
    const by = Object.fromEntries(e.deliveries.map((d) => [d.channel, d]));
    expect(by[0]).toMatchObject({ type: 'webhook', notice: 'firing', ok: true, attempts: 1, target: base });
    expect(by[1]).toMatchObject({ type: 'slack', ok: true, attempts: 1, target: base });
    expect(by[2]).toMatchObject({ type: 'email', ok: true, attempts: 1, target: 'ops@example.com' });
    expect(by[3]).toMatchObject({ ok: false, attempts: 3, error: 'HTTP 500: boom' });
    expect(by[4]).toMatchObject({ ok: false, attempts: 3 });
    expect(by[4]!.error).toMatch(/ECONNREFUSED/);
    expect(hits.filter((h) => h.path === '/fail')).toHaveLength(3);

    const hook = hits.find((h) => h.path === '/hook')!;
    expect(hook.headers['x-token']).toBe(HEADER_SECRET);
    expect(hook.body).toMatchObject({
      type: 'alert',
      status: 'firing',
      eventId: e.id,
      rule: { id: rule.id, name: 'nightly failed' },
      severity: 'critical',
      pipeline: { id: pipe, name: 'nightly' },
      jobId: failed.id,
    });
    const slack = hits.find((h) => h.path.startsWith('/slack'))!;
    expect(slack.body.text).toMatch(/^FIRING \[critical\] nightly failed: pipeline "nightly"/);
    expect(slack.body.blocks).toHaveLength(2);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ user: 'alerts', to: ['ops@example.com'] });
    expect(mails[0]!.data).toMatch(/Subject: \[Sluice\] FIRING \[critical\] nightly failed \(nightly\)/);

    // Nothing a channel needs to sign in leaks into what the API shows.
    const api = apiCaller(
      () => app,
      () => p.adminToken,
    );
    const shown = [
      (await api('GET', '/alerts/events')).text,
      (await api('GET', `/alerts/rules/${rule.id}`)).text,
    ];
    for (const text of shown) {
      expect(text).not.toContain(HEADER_SECRET);
      expect(text).not.toContain(SMTP_PASSWORD);
      expect(text).not.toContain(SLACK_SECRET);
    }

    const ok = await run(pipe, 0);
    expect(ok.status).toBe('success');
    const resolved = await eventOf(pipe, (x) => x.status === 'resolved' && x.deliveries.length === 10);
    expect(resolved.id).toBe(e.id);
    expect(resolved.deliveries.filter((d) => d.notice === 'resolved' && d.ok)).toHaveLength(3);
    expect(hits.filter((h) => h.path === '/hook').map((h) => h.body.status)).toEqual(['firing', 'resolved']);
    expect(mails).toHaveLength(2);
  }, 60_000);

  it('a slow channel does not hold up the job: the job is recorded first, the delivery after', async () => {
    const pipe = await exitPipeline('slow-alerts');
    await createRule(p, {
      name: 'slow channel',
      condition: { type: 'job_failed', pipelineId: pipe },
      channels: [{ type: 'webhook', url: `${base}/slow` }],
    });
    const started = Date.now();
    const job = await run(pipe, 1);
    const firing = await eventOf(pipe, () => true);
    expect(job.status).toBe('failed');
    expect(firing.deliveries, 'the receiver has not answered yet').toEqual([]);
    await deliveriesSettled(p);
    const done = await eventOf(pipe, (x) => x.deliveries.length === 1);
    expect(done.deliveries[0]).toMatchObject({ ok: true, attempts: 1 });
    const [row] = await p.database.db.select().from(jobExecutions).where(eq(jobExecutions.id, job.id));
    const lag = Date.parse(done.deliveries[0]!.at) - row!.completedAt!.getTime();
    expect(lag, 'the delivery ended ~1.5 s after the job').toBeGreaterThanOrEqual(1400);
    expect(row!.completedAt!.getTime() - started).toBeLessThan(15_000);
  }, 30_000);

  it('POST /alerts/rules/{id}/test tells each channel and answers each outcome, retries included', async () => {
    const rule = await createRule(p, {
      name: 'probe',
      condition: { type: 'freshness', windowMinutes: 60 },
      channels: [
        { type: 'webhook', url: `${base}/flaky` },
        { type: 'webhook', url: `${base}/fail` },
      ],
    });
    const api = apiCaller(
      () => app,
      () => p.adminToken,
    );
    const r = await api('POST', `/alerts/rules/${rule.id}/test`);
    expect(r.status).toBe(200);
    expect(r.body.deliveries).toMatchObject([
      { channel: 0, notice: 'test', ok: true, attempts: 3 },
      { channel: 1, notice: 'test', ok: false, attempts: 3, error: 'HTTP 500: boom' },
    ]);
    expect(hits.filter((h) => h.path === '/flaky').at(-1)!.body).toMatchObject({
      status: 'test',
      rule: { name: 'probe' },
    });
  });
});
