import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { totpCode } from '../src/security/totp.ts';
import { LOGIN_LIMITS } from '../src/services/auth.ts';
import { apiCaller, type TestPlatform, testPlatform } from './helpers/platform.ts';

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

const admin = apiCaller(
  () => app,
  () => p.adminToken,
);
const anon = apiCaller(() => app);
const as = (token: string) =>
  apiCaller(
    () => app,
    () => token,
  );

async function newUser(username: string, role: string, password = `${username}-pass-word`) {
  const r = await admin('POST', '/users', { username, password, role });
  expect(r.status, r.text).toBe(201);
  return { id: r.body.id as string, password };
}
// Each test signs in from its own address: the per-address limits would otherwise add up across tests.
let address = 1;
beforeEach(() => {
  address++;
});
async function login(username: string, password: string, totp?: string) {
  const r = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    remoteAddress: `10.0.0.${address}`,
    payload: { username, password, ...(totp ? { totp } : {}) },
  });
  return { status: r.statusCode, text: r.body, body: JSON.parse(r.body) };
}

describe('sessions', () => {
  it('logs in, answers /auth/me, refuses a wrong password without telling which part was wrong', async () => {
    const u = await newUser('alice', 'operator');
    const ok = await login('alice', u.password);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ expiresIn: 900, user: { username: 'alice', role: 'operator' } });
    expect(ok.text).not.toContain('password');
    const me = await as(ok.body.accessToken)('GET', '/auth/me');
    expect(me.body).toMatchObject({ kind: 'user', username: 'alice', role: 'operator' });
    const wrong = await login('alice', 'not-the-password');
    const nobody = await login('nobody', 'not-the-password');
    expect([wrong.status, nobody.status]).toEqual([401, 401]);
    expect(wrong.body.error.message).toBe(nobody.body.error.message);
  });

  it('rotates refresh tokens, and a reused one revokes the whole family', async () => {
    const u = await newUser('bob', 'viewer');
    const first = (await login('bob', u.password)).body;
    const second = await anon('POST', '/auth/refresh', { refreshToken: first.refreshToken });
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    expect((await as(second.body.accessToken)('GET', '/pipelines')).status).toBe(200);
    // The old token again: someone holds a copy. Both it and the newest are now dead.
    const reuse = await anon('POST', '/auth/refresh', { refreshToken: first.refreshToken });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.message).toMatch(/already used/);
    expect((await anon('POST', '/auth/refresh', { refreshToken: second.body.refreshToken })).status).toBe(
      401,
    );
    // A separate login is a separate family and still works.
    const other = (await login('bob', u.password)).body;
    expect((await anon('POST', '/auth/refresh', { refreshToken: other.refreshToken })).status).toBe(200);
  });

  it('logs out: the refresh token stops working', async () => {
    const u = await newUser('carol', 'viewer');
    const s = (await login('carol', u.password)).body;
    expect((await anon('POST', '/auth/logout', { refreshToken: s.refreshToken })).status).toBe(204);
    expect((await anon('POST', '/auth/refresh', { refreshToken: s.refreshToken })).status).toBe(401);
  });

  it('refuses a tampered token: a viewer cannot make itself admin by editing the payload', async () => {
    const u = await newUser('mallory', 'viewer');
    const token = (await login('mallory', u.password)).body.accessToken as string;
    const [h, payload, sig] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = [
      h,
      Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url'),
      sig,
    ].join('.');
    const r = await as(forged)('GET', '/users');
    expect(r.status).toBe(401);
    expect(r.body.error.message).toMatch(/signature/);
    const none = [
      Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
      Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url'),
      '',
    ].join('.');
    expect((await as(none)('GET', '/users')).status).toBe(401);
  });

  it('applies a role change and disabling on the very next request', async () => {
    const u = await newUser('dave', 'operator');
    const token = (await login('dave', u.password)).body.accessToken as string;
    expect((await as(token)('GET', '/credentials')).status).toBe(200);
    await admin('PUT', `/users/${u.id}`, { role: 'viewer' });
    expect((await as(token)('GET', '/credentials')).status).toBe(403);
    await admin('PUT', `/users/${u.id}`, { active: false });
    const r = await as(token)('GET', '/pipelines');
    expect(r.status).toBe(401);
    expect(r.body.error.message).toMatch(/disabled/);
    expect((await login('dave', u.password)).status).toBe(401);
  });

  it('keeps the last admin: it cannot be demoted, disabled or deleted', async () => {
    const me = (await admin('GET', '/auth/me')).body;
    const r = await admin('PUT', `/users/${me.id}`, { role: 'viewer' });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toMatch(/last active admin/);
  });

  it('refuses short passwords with the field at fault', async () => {
    const r = await admin('POST', '/users', { username: 'shorty', password: 'abc', role: 'viewer' });
    expect(r.status).toBe(400);
    expect(r.body.error.details[0].path).toBe('body.password');
  });
});

describe('TOTP', () => {
  it('enrols, then requires a fresh code at every login; a replayed code is refused', async () => {
    const u = await newUser('erin', 'operator');
    const token = (await login('erin', u.password)).body.accessToken as string;
    const enrol = await as(token)('POST', '/auth/totp/enroll');
    expect(enrol.body.uri).toMatch(/^otpauth:\/\/totp\/Sluice:erin\?/);
    const secret = enrol.body.secret as string;
    // Not active until verified.
    expect((await login('erin', u.password)).status).toBe(200);
    expect((await as(token)('POST', '/auth/totp/verify', { code: '000000' })).status).toBe(400);
    expect((await as(token)('POST', '/auth/totp/verify', { code: totpCode(secret) })).status).toBe(204);

    const without = await login('erin', u.password);
    expect(without.status).toBe(401);
    expect(without.body.error.details[0].path).toBe('body.totp');
    // The code used to verify is spent; the next window's code works once.
    expect((await login('erin', u.password, totpCode(secret))).status).toBe(401);
    const next = totpCode(secret, Date.now() + 30_000);
    const ok = await login('erin', u.password, next);
    expect(ok.status).toBe(200);
    expect(ok.body.user.totpEnabled).toBe(true);
    expect((await login('erin', u.password, next)).status).toBe(401);
    expect((await login('erin', 'wrong-password', totpCode(secret, Date.now() + 60_000))).status).toBe(401);
  });
});

describe('API tokens', () => {
  it('work as Bearer with their own role, until revoked or expired; the value is shown once', async () => {
    const created = await admin('POST', '/tokens', { name: 'ci', role: 'viewer', expiresInDays: 30 });
    expect(created.status).toBe(201);
    const token = created.body.token as string;
    expect(token).toMatch(/^slu_/);
    const ci = as(token);
    expect((await ci('GET', '/pipelines')).status).toBe(200);
    expect((await ci('POST', '/pipelines', { spec: {} })).status).toBe(403);
    expect((await ci('GET', '/auth/me')).body).toMatchObject({ kind: 'token', role: 'viewer' });
    const listed = await admin('GET', '/tokens');
    expect(listed.text).not.toContain(token);
    expect(listed.body.items.find((t: { name: string }) => t.name === 'ci').lastUsedAt).not.toBeNull();
    expect((await admin('DELETE', `/tokens/${created.body.id}`)).status).toBe(204);
    const revoked = await ci('GET', '/pipelines');
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toMatch(/revoked/);

    const short = await admin('POST', '/tokens', { name: 'old', role: 'admin', expiresInDays: 1 });
    await p.database.query(`UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1`, [
      short.body.id,
    ]);
    const expired = await as(short.body.token)('GET', '/pipelines');
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toMatch(/expired/);
  });
});

describe('login rate limiting', () => {
  it(`refuses a user after ${LOGIN_LIMITS.perUser} failed logins, even with the right password`, async () => {
    const u = await newUser('frank', 'viewer');
    for (let i = 0; i < LOGIN_LIMITS.perUser; i++)
      expect((await login('frank', `wrong-${i}`)).status).toBe(401);
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: `10.0.0.${address}`,
      payload: { username: 'frank', password: u.password },
    });
    expect(r.statusCode).toBe(429);
    expect(r.headers['retry-after']).toBe(String(LOGIN_LIMITS.windowMs / 1000));
    const body = JSON.parse(r.body);
    expect(body.error.message).toMatch(/too many failed logins for user "frank"/);
    // Other users are not locked out by frank's failures below the per-address limit.
    const g = await newUser('grace', 'viewer');
    expect((await login('grace', g.password)).status).toBe(200);
  });

  it('caps login attempts per address per minute whatever their outcome, once the body is well-formed', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await login('nobody', 'wrong-password')).status);
    expect(statuses).toContain(429);
  });
});
