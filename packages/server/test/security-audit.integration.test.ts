import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { startServer } from '../src/server.ts';
import { type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

let p: TestPlatform;
let app: App;
beforeAll(async () => {
  p = await testPlatform('pglite');
  app = await buildApp(p, { rateLimit: 100_000 });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await p?.close();
});

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) {
  const r = await app.inject({
    method,
    url: `/api/v1${url}`,
    headers: { ...p.auth, 'user-agent': 'audit-test/1.0' },
    remoteAddress: '192.0.2.7',
    ...(body === undefined ? {} : { payload: body as object }),
  });
  return { status: r.statusCode, body: r.body ? JSON.parse(r.body) : null };
}

interface Row {
  action: string;
  username: string;
  resourceType: string;
  resourceId: string | null;
  oldValue: Record<string, unknown> | null;
  newValue: Record<string, unknown> | null;
  clientAddress: string | null;
  userAgent: string | null;
}
const rows = async (q: string): Promise<Row[]> => (await call('GET', `/audit?${q}`)).body.items;

describe('audit log', () => {
  it('records every change with who, from where, and the values before and after', async () => {
    const spec = (n: number) => ({
      name: 'audited',
      steps: [{ id: 's', task: 'shell', with: { command: ['sleep', String(n)] } }],
    });
    const created = await call('POST', '/pipelines', { spec: spec(30) });
    const id = created.body.id as string;
    await call('PUT', `/pipelines/${id}`, { spec: spec(31) });
    const run = await call('POST', `/pipelines/${id}/execute`, {});
    await call('POST', `/jobs/${run.body.jobId}/cancel`);
    await waitForJob(p, run.body.jobId);
    await call('POST', `/jobs/${run.body.jobId}/retry`, {});
    const cred = await call('POST', '/credentials', {
      name: 'db',
      connectorType: 'postgres',
      data: { url: 'postgres://etl:hunter2-hunter2@127.0.0.1:1/none' },
    });
    await call('PUT', `/credentials/${cred.body.id}`, { description: 'the warehouse' });
    await call('DELETE', `/credentials/${cred.body.id}`);
    const user = await call('POST', '/users', {
      username: 'ops',
      password: 'ops-password-1',
      role: 'viewer',
    });
    await call('PUT', `/users/${user.body.id}`, { role: 'operator' });
    await call('PUT', `/users/${user.body.id}`, { active: false });
    await call('DELETE', `/pipelines/${id}`);
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: '198.51.100.9',
      payload: { username: 'admin', password: 'wrong' },
    });
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: '198.51.100.9',
      payload: { username: 'admin', password: 'admin-password-1' },
    });

    const all = await rows('limit=200');
    const one = (action: string) => {
      const r = all.find((x) => x.action === action);
      expect(r, `an audit row for ${action}`).toBeDefined();
      return r!;
    };
    const update = one('pipeline.update');
    expect(update).toMatchObject({
      username: 'admin',
      resourceType: 'pipeline',
      resourceId: id,
      clientAddress: '192.0.2.7',
      userAgent: 'audit-test/1.0',
    });
    expect(update.oldValue).toMatchObject({ version: 1 });
    expect(update.newValue).toMatchObject({ version: 2 });
    expect(one('pipeline.create').newValue).toMatchObject({ id, name: 'audited' });
    expect(one('pipeline.delete').oldValue).toMatchObject({ id, version: 2 });
    expect(one('pipeline.execute').newValue).toMatchObject({ jobId: run.body.jobId });
    expect(one('job.cancel').resourceId).toBe(run.body.jobId);
    expect(one('job.retry').resourceId).toBe(run.body.jobId);
    expect(one('credential.create').newValue).toMatchObject({ name: 'db', fields: { url: '********' } });
    expect(one('credential.update').oldValue).toMatchObject({ name: 'db', description: '' });
    expect(one('credential.delete').resourceId).toBe(cred.body.id);
    expect(one('user.create').newValue).toMatchObject({ username: 'ops', role: 'viewer' });
    expect(one('user.role_change')).toMatchObject({
      oldValue: { role: 'viewer' },
      newValue: { role: 'operator' },
    });
    expect(one('user.disable').newValue).toMatchObject({ active: false });
    expect(one('auth.login_failed')).toMatchObject({ username: 'admin', clientAddress: '198.51.100.9' });
    expect(one('auth.login')).toMatchObject({ username: 'admin', clientAddress: '198.51.100.9' });
    expect(JSON.stringify(all)).not.toContain('hunter2-hunter2');
    expect(JSON.stringify(all)).not.toContain('ops-password-1');

    const filtered = await rows(`resourceType=pipeline&resourceId=${id}`);
    expect(new Set(filtered.map((r) => r.action))).toEqual(
      new Set(['pipeline.create', 'pipeline.update', 'pipeline.execute', 'pipeline.delete']),
    );
  }, 60_000);
});

describe('hardening', () => {
  it('sends security headers, and no CORS headers unless origins are configured', async () => {
    const r = await app.inject({
      url: '/api/v1/connectors',
      headers: { ...p.auth, origin: 'https://evil.example' },
    });
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(String(r.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    const open = await buildApp(p, { corsOrigins: ['https://ui.example'] });
    try {
      const pre = await open.inject({
        method: 'OPTIONS',
        url: '/api/v1/pipelines',
        headers: { origin: 'https://ui.example', 'access-control-request-method': 'GET' },
      });
      expect(pre.headers['access-control-allow-origin']).toBe('https://ui.example');
    } finally {
      await open.close();
    }
  });

  it('rate-limits the API per caller', async () => {
    const tight = await buildApp(p, { rateLimit: 5 });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 7; i++)
        codes.push((await tight.inject({ url: '/api/v1/connectors', headers: p.auth })).statusCode);
      expect(codes.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(codes[6]).toBe(429);
    } finally {
      await tight.close();
    }
  });

  it('refuses to serve plain HTTP on a non-loopback address', async () => {
    await expect(startServer({ host: '0.0.0.0', port: 0, dataDir: p.dataDir })).rejects.toThrow(
      /refusing to serve plain HTTP on 0\.0\.0\.0.*--behind-proxy/,
    );
  });
});
