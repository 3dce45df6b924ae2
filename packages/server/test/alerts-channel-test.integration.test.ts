import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { auditLog } from '../src/db/schema.ts';
import { refusingPort } from './helpers/net.ts';
import { apiCaller, type TestPlatform, testPlatform, tokenFor } from './helpers/platform.ts';

// POST /alerts/channels/test against a real HTTP receiver this test starts: what the form's
// "Send test" button calls before a rule is saved.
const HEADER_SECRET = 'hdr-secret-4242';

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

let p: TestPlatform;
let app: App;
let http: Server;
let base: string;
let operatorToken: string;
const hits: Hit[] = [];
const api = apiCaller(
  () => app,
  () => p.adminToken,
);
const operator = apiCaller(
  () => app,
  () => operatorToken,
);

beforeAll(async () => {
  http = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      hits.push({ path: req.url!, headers: req.headers, body: JSON.parse(text) });
      if (req.url === '/fail') return res.writeHead(500).end('boom');
      res.writeHead(200).end('ok');
    });
  });
  const port = await new Promise<number>((resolve) =>
    http.listen(0, '127.0.0.1', () => resolve((http.address() as AddressInfo).port)),
  );
  base = `http://127.0.0.1:${port}`;
  p = await testPlatform('pglite');
  app = await buildApp(p, { rateLimit: 100_000 });
  operatorToken = await tokenFor(p, 'operator');
}, 60_000);
afterAll(async () => {
  await app?.close();
  await p?.close();
  await new Promise((r) => http.close(r));
});

describe('POST /alerts/channels/test', () => {
  it('delivers a test notice to a webhook as typed in the form and answers ok, audited', async () => {
    const r = await api('POST', '/alerts/channels/test', {
      channel: {
        type: 'webhook',
        url: `${base}/hook`,
        headers: { authorization: `Bearer ${HEADER_SECRET}` },
      },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ type: 'webhook', notice: 'test', target: base, ok: true, attempts: 1 });
    const hit = hits.find((h) => h.path === '/hook')!;
    expect(hit.headers.authorization).toBe(`Bearer ${HEADER_SECRET}`);
    expect(hit.body).toMatchObject({ type: 'alert', status: 'test', rule: { name: '(unsaved rule)' } });
    expect(r.text).not.toContain(HEADER_SECRET);
    const rows = await p.database.db.select().from(auditLog).where(eq(auditLog.action, 'alert_channel.test'));
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(HEADER_SECRET);
  });

  it('answers a failed delivery with its error and a target without the secret path, after one try', async () => {
    const failed = await api('POST', '/alerts/channels/test', {
      channel: { type: 'slack', url: `${base}/fail` },
    });
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ ok: false, attempts: 1, target: base, error: 'HTTP 500: boom' });
    expect(failed.text).not.toContain('/fail');
    const port = await refusingPort();
    const refused = await api('POST', '/alerts/channels/test', {
      channel: { type: 'webhook', url: `http://127.0.0.1:${port}/x` },
    });
    expect(refused.body).toMatchObject({ ok: false, attempts: 1 });
    expect(refused.body.error).toMatch(/ECONNREFUSED/);
  });

  it('uses the stored secret for a masked value when the channel is edited in a saved rule', async () => {
    const rule = await api('POST', '/alerts/rules', {
      name: 'edited',
      condition: { type: 'job_failed' },
      channels: [{ type: 'webhook', url: `${base}/saved`, headers: { 'x-token': HEADER_SECRET } }],
    });
    expect(rule.status, rule.text).toBe(201);
    const shown = rule.body.channels[0];
    expect(shown.headers['x-token']).toBe('********');
    const r = await api('POST', '/alerts/channels/test', { channel: shown, ruleId: rule.body.id, index: 0 });
    expect(r.body.ok).toBe(true);
    const hit = hits.filter((h) => h.path === '/saved').at(-1)!;
    expect(hit.headers['x-token']).toBe(HEADER_SECRET);
    expect(hit.body).toMatchObject({ rule: { id: rule.body.id, name: 'edited' } });
  });

  it('refuses a bad channel with the path of each mistake, and callers who may not edit rules', async () => {
    const bad = await api('POST', '/alerts/channels/test', { channel: { type: 'webhook', url: 'ftp://x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([expect.objectContaining({ path: 'body.channel.url' })]);
    const email = await api('POST', '/alerts/channels/test', { channel: { type: 'email', to: [] } });
    expect((email.body.error.details as { path: string }[]).map((d) => d.path)).toEqual(
      expect.arrayContaining(['body.channel.to', 'body.channel.host']),
    );
    const unknown = await api('POST', '/alerts/channels/test', { channel: { type: 'pager' } });
    expect(unknown.status).toBe(400);
    expect(
      (await operator('POST', '/alerts/channels/test', { channel: { type: 'slack', url: base } })).status,
    ).toBe(403);
  });
});
