import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../src/db/schema.ts';
import { WEBHOOKS_QUEUE } from '../src/queue/boss.ts';
import { backends } from './helpers/backends.ts';
import { apiCaller, tokenFor, waitForJob } from './helpers/platform.ts';
import { runningPlatform } from './helpers/running.ts';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: {
    event: string;
    deliveryId: string;
    timestamp: string;
    job: { id: string; status: string; parameters: unknown; url: string | null; error: unknown };
    pipeline: { id: string; name: string };
    steps: { id: string; status: string; rowsRead: number }[];
  };
}

/** A receiver on loopback: records every call, answers each path's programmed statuses in turn, then 200. */
async function receiver() {
  const calls: Received[] = [];
  const answers = new Map<string, number[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      calls.push({ path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw) });
      const status = answers.get(req.url ?? '')?.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'receiver is down');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { calls, answers, url: (path: string) => `http://127.0.0.1:${port}${path}`, server };
}

async function until<T>(
  what: string,
  f: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`still waiting for ${what} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const verify = (secret: string, raw: string, header: unknown) =>
  header === `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

describe.each(backends)('outbound webhooks on $name', ({ name }) => {
  const ctx = runningPlatform(name);
  let rx: Awaited<ReturnType<typeof receiver>>;
  let operator: ReturnType<typeof apiCaller>;
  let viewer: ReturnType<typeof apiCaller>;
  let ok: string;
  let broken: string;

  beforeAll(async () => {
    rx = await receiver();
    // Short waits between attempts, so the retry test takes seconds, not minutes.
    await ctx.p.queue.updateQueue(WEBHOOKS_QUEUE, { retryDelay: 1, retryBackoff: false });
    const operatorToken = await tokenFor(ctx.p, 'operator');
    const viewerToken = await tokenFor(ctx.p, 'viewer');
    operator = apiCaller(
      () => ctx.app,
      () => operatorToken,
    );
    viewer = apiCaller(
      () => ctx.app,
      () => viewerToken,
    );
    const mk = async (pipeline: string, command: string[]) => {
      const r = await ctx.admin('POST', '/pipelines', {
        spec: {
          name: pipeline,
          parameters: { type: 'object', properties: { day: { type: 'string', default: 'today' } } },
          steps: [{ id: 'run', task: 'shell', with: { command } }],
        },
      });
      expect(r.status, r.text).toBe(201);
      return r.body.id as string;
    };
    ok = await mk('hooked-ok', ['true']);
    broken = await mk('hooked-broken', ['false']);
  });
  afterAll(() => new Promise<void>((r) => rx?.server.close(() => r())));

  it('only admins and operators add webhooks; a secret is never shown again; changes are audited', async () => {
    const refused = await viewer('POST', `/pipelines/${ok}/webhooks`, { url: rx.url('/x'), events: ['end'] });
    expect(refused.status).toBe(403);
    const bad = await operator('POST', `/pipelines/${ok}/webhooks`, { url: 'ftp://host/x', events: ['end'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('body.url');
    const noEvent = await operator('POST', `/pipelines/${ok}/webhooks`, {
      url: rx.url('/x'),
      events: ['start'],
    });
    expect(noEvent.status).toBe(400);

    const created = await operator('POST', `/pipelines/${ok}/webhooks`, {
      url: rx.url('/audited'),
      events: ['end'],
      generateSecret: true,
      enabled: false,
    });
    expect(created.status, created.text).toBe(201);
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^whs_/);
    expect(created.body).toMatchObject({ hasSecret: true, pipelineId: ok, enabled: false });
    const id = created.body.id as string;

    const shown = await viewer('GET', `/webhooks/${id}`);
    expect(shown.status).toBe(200);
    expect(shown.text).not.toContain(secret);
    expect(shown.body.secret).toBeUndefined();
    const listed = await viewer('GET', `/pipelines/${ok}/webhooks`);
    expect(listed.body.items.map((h: { id: string }) => h.id)).toContain(id);
    expect(listed.text).not.toContain(secret);

    expect((await viewer('PATCH', `/webhooks/${id}`, { enabled: true })).status).toBe(403);
    const patched = await operator('PATCH', `/webhooks/${id}`, { secret: null });
    expect(patched.body).toMatchObject({ hasSecret: false, enabled: false });
    expect((await viewer('DELETE', `/webhooks/${id}`)).status).toBe(403);
    expect((await operator('DELETE', `/webhooks/${id}`)).status).toBe(204);
    expect((await viewer('GET', `/webhooks/${id}`)).status).toBe(404);

    const audits = await ctx.p.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceType, 'webhook'), eq(auditLog.resourceId, id)));
    expect(audits.map((a) => a.action).sort()).toEqual([
      'webhook.create',
      'webhook.delete',
      'webhook.update',
    ]);
    expect(audits.every((a) => a.username === 'operator')).toBe(true);
    expect(JSON.stringify(audits)).not.toContain(secret);
  });

  it('tells success and failure to the subscriptions that want them, signed', async () => {
    const secret = 'a-shared-secret-of-the-receiver';
    const onSuccess = await operator('POST', `/pipelines/${ok}/webhooks`, {
      url: rx.url('/ok-success'),
      events: ['success'],
      secret,
    });
    expect(onSuccess.status, onSuccess.text).toBe(201);
    expect(onSuccess.text).not.toContain(secret);
    const onFailure = await operator('POST', `/pipelines/${broken}/webhooks`, {
      url: rx.url('/broken-failure'),
      events: ['failure'],
    });
    // Told of the broken pipeline's success only, which never comes.
    await operator('POST', `/pipelines/${broken}/webhooks`, {
      url: rx.url('/broken-success'),
      events: ['success'],
    });

    const good = await ctx.admin('POST', `/pipelines/${ok}/execute`, { parameters: { day: '2026-11-01' } });
    const bad = await ctx.admin('POST', `/pipelines/${broken}/execute`, {});
    expect((await waitForJob(ctx.p, good.body.jobId)).status).toBe('success');
    expect((await waitForJob(ctx.p, bad.body.jobId)).status).toBe('failed');

    const s = await until('the success delivery', () => rx.calls.find((c) => c.path === '/ok-success'));
    expect(verify(secret, s.raw, s.headers['x-sluice-signature'])).toBe(true);
    expect(s.headers['x-sluice-event']).toBe('success');
    expect(s.headers['x-sluice-timestamp']).toBe(s.body.timestamp);
    expect(s.headers['x-sluice-delivery']).toBe(s.body.deliveryId);
    expect(s.body).toMatchObject({
      event: 'success',
      job: { id: good.body.jobId, status: 'success', parameters: { day: '2026-11-01' }, url: null },
      pipeline: { id: ok, name: 'hooked-ok' },
      steps: [{ id: 'run', status: 'success' }],
    });

    const f = await until('the failure delivery', () => rx.calls.find((c) => c.path === '/broken-failure'));
    expect(f.headers['x-sluice-signature'], 'no secret, no signature').toBeUndefined();
    expect(f.body).toMatchObject({ event: 'failure', job: { id: bad.body.jobId, status: 'failed' } });
    expect(f.body.job.error).toMatchObject({ message: expect.any(String) });

    const log = await until('the logged attempt', async () => {
      const r = await viewer('GET', `/webhooks/${onFailure.body.id}/deliveries`);
      return r.body.total > 0 ? r.body : undefined;
    });
    expect(log.items[0]).toMatchObject({
      jobId: bad.body.jobId,
      event: 'failure',
      attempt: 1,
      ok: true,
      httpStatus: 200,
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(rx.calls.filter((c) => c.path === '/broken-success')).toHaveLength(0);
  });

  it('retries a receiver that answered 500, with the same delivery id, and logs both attempts', async () => {
    rx.answers.set('/flaky', [500]);
    const hook = await operator('POST', `/pipelines/${ok}/webhooks`, {
      url: rx.url('/flaky'),
      events: ['end'],
    });
    const run = await ctx.admin('POST', `/pipelines/${ok}/execute`, {});
    await waitForJob(ctx.p, run.body.jobId);
    const log = await until('two attempts', async () => {
      const r = await viewer('GET', `/webhooks/${hook.body.id}/deliveries`);
      return r.body.items.length >= 2 ? r.body : undefined;
    });
    const [second, first] = log.items;
    expect(first).toMatchObject({ attempt: 1, ok: false, httpStatus: 500, jobId: run.body.jobId });
    expect(first.error).toContain('HTTP 500');
    expect(second).toMatchObject({ attempt: 2, ok: true, httpStatus: 200, deliveryId: first.deliveryId });
    const calls = rx.calls.filter((c) => c.path === '/flaky');
    expect(calls).toHaveLength(2);
    expect(calls[0]!.headers['x-sluice-delivery']).toBe(calls[1]!.headers['x-sluice-delivery']);
  });

  it('a global webhook hears the jobs of every pipeline', async () => {
    const created = await operator('POST', '/webhooks', { url: rx.url('/global'), events: ['end'] });
    expect(created.status, created.text).toBe(201);
    expect(created.body.pipelineId).toBeNull();
    expect((await viewer('GET', '/webhooks')).body.items.map((h: { id: string }) => h.id)).toEqual([
      created.body.id,
    ]);
    const a = await ctx.admin('POST', `/pipelines/${ok}/execute`, {});
    const b = await ctx.admin('POST', `/pipelines/${broken}/execute`, {});
    await waitForJob(ctx.p, a.body.jobId);
    await waitForJob(ctx.p, b.body.jobId);
    const got = await until('both', () => {
      const ids = rx.calls.filter((c) => c.path === '/global').map((c) => c.body.job.id);
      return ids.includes(a.body.jobId) && ids.includes(b.body.jobId) ? ids : undefined;
    });
    expect(got).toHaveLength(2);
    expect(rx.calls.filter((c) => c.path === '/global').every((c) => c.body.event === 'end')).toBe(true);
  });

  it('refuses a receiver the network policy refuses, without retrying', async () => {
    const hook = await operator('POST', `/pipelines/${ok}/webhooks`, {
      url: 'http://169.254.169.254/latest/meta-data/',
      events: ['end'],
    });
    const run = await ctx.admin('POST', `/pipelines/${ok}/execute`, {});
    await waitForJob(ctx.p, run.body.jobId);
    const log = await until('the refusal', async () => {
      const r = await viewer('GET', `/webhooks/${hook.body.id}/deliveries`);
      return r.body.total > 0 ? r.body : undefined;
    });
    expect(log.items[0]).toMatchObject({ ok: false, httpStatus: null, attempt: 1 });
    expect(log.items[0].error).toContain('169.254.169.254');
    await new Promise((r) => setTimeout(r, 2500));
    expect((await viewer('GET', `/webhooks/${hook.body.id}/deliveries`)).body.total).toBe(1);
    await operator('DELETE', `/webhooks/${hook.body.id}`);
  });
});
