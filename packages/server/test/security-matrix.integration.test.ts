import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type App, buildApp } from '../src/api/app.ts';
import { signAccessToken } from '../src/security/tokens.ts';
import { accessKey } from '../src/services/auth.ts';
import { type TestPlatform, testPlatform, tokenFor } from './helpers/platform.ts';

// api-v1.md's role table, written out here on its own so the test checks the code against the
// document and not against itself. `public` needs no token; `any` is every signed-in role.
const A = ['admin'];
const AO = ['admin', 'operator'];
const ALL = ['admin', 'operator', 'viewer'];
const EXPECTED: Record<string, string[] | 'public' | 'signature'> = {
  'POST /auth/login': 'public',
  'POST /auth/refresh': 'public',
  'POST /auth/logout': 'public',
  'GET /auth/me': ALL,
  'POST /auth/totp/enroll': ALL,
  'POST /auth/totp/verify': ALL,
  'GET /pipelines': ALL,
  'POST /pipelines': A,
  'GET /pipelines/{id}': ALL,
  'PUT /pipelines/{id}': A,
  'DELETE /pipelines/{id}': A,
  'GET /pipelines/{id}/versions': ALL,
  'POST /pipelines/{id}/validate': ALL,
  'POST /pipelines/{id}/execute': AO,
  'POST /pipelines/{id}/backfill': AO,
  'GET /pipelines/{id}/backfills': ALL,
  'GET /backfills/{id}': ALL,
  'POST /backfills/{id}/cancel': AO,
  'POST /schedules/{id}/backfill': AO,
  'GET /pipelines/{id}/state': ALL,
  'DELETE /pipelines/{id}/state': AO,
  'POST /pipelines/{id}/webhook': A,
  'POST /hooks/{id}': 'signature',
  'GET /pipelines/{id}/dependencies': ALL,
  'GET /pipelines/{id}/webhooks': ALL,
  'POST /pipelines/{id}/webhooks': AO,
  'GET /webhooks': ALL,
  'POST /webhooks': AO,
  'GET /webhooks/{id}': ALL,
  'PATCH /webhooks/{id}': AO,
  'DELETE /webhooks/{id}': AO,
  'GET /webhooks/{id}/deliveries': ALL,
  'GET /jobs': ALL,
  'GET /jobs/{id}': ALL,
  'POST /jobs/{id}/cancel': AO,
  'POST /jobs/{id}/retry': A,
  'POST /jobs/{id}/quarantine/replay': AO,
  'GET /jobs/{id}/quarantine': ALL,
  'GET /jobs/{id}/logs': ALL,
  'GET /jobs/{id}/artifacts': ALL,
  'GET /jobs/{id}/artifacts/{name}': ALL,
  'GET /jobs/{id}/datasets': ALL,
  'GET /jobs/{id}/datasets/{name}/preview': ALL,
  'GET /jobs/{id}/datasets/{name}/download': ALL,
  'GET /jobs/{id}/steps': ALL,
  'GET /jobs/{id}/partitions': ALL,
  'GET /jobs/{id}/steps/{stepId}': ALL,
  'GET /jobs/{id}/steps/{stepId}/logs': ALL,
  'GET /connectors': ALL,
  'GET /connectors/{name}': ALL,
  'GET /connectors/{name}/schema': ALL,
  'GET /credentials': AO,
  'POST /credentials': A,
  'PUT /credentials/{id}': A,
  'DELETE /credentials/{id}': A,
  'POST /credentials/{id}/test': A,
  'GET /schedules': ALL,
  'POST /schedules': A,
  'GET /schedules/{id}': ALL,
  'PUT /schedules/{id}': A,
  'DELETE /schedules/{id}': A,
  'POST /schedules/{id}/pause': AO,
  'POST /schedules/{id}/resume': AO,
  'GET /dlq': ALL,
  'POST /dlq/{id}/requeue': A,
  'GET /metrics/summary': ALL,
  'GET /metrics/pipelines/{id}': ALL,
  'GET /metrics/connectors/{name}': ALL,
  'GET /users': A,
  'POST /users': A,
  'PUT /users/{id}': A,
  'DELETE /users/{id}': A,
  'GET /tokens': A,
  'POST /tokens': A,
  'DELETE /tokens/{id}': A,
  'GET /audit': A,
  'GET /alerts/rules': ALL,
  'POST /alerts/rules': A,
  'GET /alerts/rules/{id}': ALL,
  'PUT /alerts/rules/{id}': A,
  'DELETE /alerts/rules/{id}': A,
  'POST /alerts/rules/{id}/test': A,
  'POST /alerts/channels/test': A,
  'GET /alerts/events': ALL,
  'GET /health': 'public',
  'GET /ready': 'public',
  // Public unless SLUICE_METRICS_TOKEN is set (metrics.integration.test.ts covers the token).
  'GET /metrics': 'public',
};

let p: TestPlatform;
let url: string | undefined;
const listening = async () => {
  url ??= await app.listen({ port: 0, host: '127.0.0.1' });
  return url;
};
let app: App;
const who: Record<string, string | null> = {};

beforeAll(async () => {
  p = await testPlatform('pglite');
  app = await buildApp(p, { rateLimit: 100_000 });
  const key = accessKey(p);
  const admin = await tokenFor(p, 'admin');
  const sub = JSON.parse(Buffer.from(admin.split('.')[1]!, 'base64url').toString()).sub as string;
  who.none = null;
  who.expired = await signAccessToken(key, { sub, username: 'admin', role: 'admin' }, -60);
  who['another key'] = await signAccessToken(new Uint8Array(randomBytes(32)), {
    sub,
    username: 'admin',
    role: 'admin',
  });
  who.viewer = await tokenFor(p, 'viewer');
  who.operator = await tokenFor(p, 'operator');
  who.admin = admin;
}, 60_000);
afterAll(async () => {
  await app?.close();
  await p?.close();
});

describe('every route × every caller gets the status the role table demands', () => {
  it('reads the routes from the OpenAPI document; a route missing from the table fails', async () => {
    const doc = JSON.parse((await app.inject({ url: '/api/v1/openapi.json' })).body) as {
      paths: Record<string, Record<string, unknown>>;
    };
    // Keys name /api/v1 routes without the prefix; /health and /ready live outside it.
    const full = new Map<string, string>();
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => {
        const key = `${m.toUpperCase()} ${path.replace(/^\/api\/v1/, '')}`;
        full.set(key, path);
        return key;
      }),
    );
    const unlisted = routes.filter((r) => !(r in EXPECTED));
    expect(unlisted, 'routes with no row in the role table of this test (and api-v1.md)').toEqual([]);
    const gone = Object.keys(EXPECTED).filter((k) => !routes.includes(k));
    expect(gone, 'rows of the table the API does not serve').toEqual([]);

    const failures: string[] = [];
    for (const route of routes) {
      const method = route.split(' ')[0]!;
      const url = full.get(route)!.replace(/\{[^}]+\}/g, () => randomUUID());
      const rule = EXPECTED[route]!;
      for (const [caller, token] of Object.entries(who)) {
        const r = await app.inject({
          method: method as 'GET',
          url,
          headers: token ? { authorization: `Bearer ${token}` } : {},
          ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }),
        });
        const signedIn = ['viewer', 'operator', 'admin'].includes(caller);
        let want: string;
        if (rule === 'public') want = 'not 401/403';
        else if (rule === 'signature') want = '401';
        else if (!signedIn) want = '401';
        else want = rule.includes(caller) ? 'not 401/403' : '403';
        const ok =
          want === 'not 401/403'
            ? r.statusCode !== 401 && r.statusCode !== 403
            : String(r.statusCode) === want;
        if (!ok)
          failures.push(`${route} as ${caller}: ${r.statusCode}, wanted ${want} (${r.body.slice(0, 120)})`);
        if (r.statusCode === 401 || r.statusCode === 403)
          expect(JSON.parse(r.body).error.code).toBe(r.statusCode === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN');
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('the WebSocket refuses a connection without a valid token, and takes one by ?token=', async () => {
    const base = await listening();
    const ws = base.replace('http', 'ws');
    const open = (url: string) =>
      new Promise<string>((resolve) => {
        const s = new WebSocket(url);
        s.on('open', () => {
          s.close();
          resolve('open');
        });
        s.on('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
        s.on('error', () => resolve('error'));
      });
    expect(await open(`${ws}/api/v1/ws`)).toBe('refused 401');
    expect(await open(`${ws}/api/v1/ws?token=${who.expired}`)).toBe('refused 401');
    expect(await open(`${ws}/api/v1/ws?token=${who['another key']}`)).toBe('refused 401');
    expect(await open(`${ws}/api/v1/ws?token=${who.viewer}`)).toBe('open');
  });

  it('closes a live connection whose user was disabled, at its next subscribe', async () => {
    const base = await listening();
    const token = await tokenFor(p, 'viewer', 'watcher');
    const s = new WebSocket(`${base.replace('http', 'ws')}/api/v1/ws?token=${token}`);
    await new Promise((resolve) => s.on('open', resolve));
    await p.database.query("UPDATE users SET active = false WHERE username = 'watcher'");
    const closed = new Promise<number>((resolve) => s.on('close', (code) => resolve(code)));
    s.send(JSON.stringify({ type: 'subscribe', channel: 'global' }));
    expect(await closed).toBe(4401);
  });

  it('/health, /ready, /metrics and the API reference are public', async () => {
    for (const url of ['/health', '/ready', '/metrics', '/api/v1/openapi.json'])
      expect((await app.inject({ url })).statusCode, url).toBe(200);
  });
});
