import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { credentials } from '../src/db/schema.ts';
import { loadMasterKey, unseal } from '../src/security/secrets.ts';
import { backends, SERVER_URL } from './helpers/backends.ts';
import { apiCaller, type TestPlatform, testPlatform } from './helpers/platform.ts';

describe.each(backends)('credentials on $name', ({ name }) => {
  let p: TestPlatform;
  let app: App;
  beforeAll(async () => {
    p = await testPlatform(name);
    app = await buildApp(p);
  });
  afterAll(async () => {
    await app.close();
    await p.close();
  });
  const call = apiCaller(
    () => app,
    () => p.adminToken,
  );

  it('stores secrets encrypted, never returns them, tests them by connecting', async () => {
    const secretUrl = SERVER_URL;
    const created = await call('POST', '/credentials', {
      name: 'warehouse',
      connectorType: 'postgres',
      data: { url: secretUrl },
    });
    expect(created.status).toBe(201);
    expect(created.body.fields).toEqual({ url: '********' });
    expect(created.text).not.toContain(secretUrl);
    const [row] = await p.database.db.select().from(credentials);
    expect(row!.encryptedData).not.toContain('127.0.0.1');
    expect(await unseal(p.masterKey, row!.encryptedData)).toEqual({ url: secretUrl });
    const list = await call('GET', '/credentials');
    expect(list.text).not.toContain(secretUrl);
    expect(list.body.total).toBe(1);
    expect(
      (
        await call('POST', '/credentials', {
          name: 'warehouse',
          connectorType: 'postgres',
          data: { url: secretUrl },
        })
      ).status,
    ).toBe(409);

    expect((await call('POST', `/credentials/${created.body.id}/test`)).body).toMatchObject({ ok: true });
    const wrong = 'postgres://nobody:s3cretpass@127.0.0.1:1/none';
    await call('PUT', `/credentials/${created.body.id}`, { data: { url: wrong } });
    const failed = await call('POST', `/credentials/${created.body.id}/test`);
    expect(failed.body.ok).toBe(false);
    expect(failed.text).not.toContain('s3cretpass');
    expect((await call('DELETE', `/credentials/${created.body.id}`)).status).toBe(204);
    expect((await call('POST', `/credentials/${created.body.id}/test`)).status).toBe(404);
  });

  it("checks data against the connector's credential schema, which the catalogue shows", async () => {
    const catalogue = await call('GET', '/connectors');
    const pg = (catalogue.body.items as { name: string; credentialSchema?: unknown }[]).filter(
      (c) => c.name === 'postgres',
    );
    expect(pg).toHaveLength(2); // source and sink
    for (const c of pg)
      expect(c.credentialSchema).toMatchObject({
        required: ['url'],
        properties: { url: { type: 'string', writeOnly: true } },
      });
    // File connectors take the store's settings and secrets (s3, sftp, http groups).
    expect(
      (catalogue.body.items as { name: string; credentialSchema?: unknown }[]).find((c) => c.name === 'csv')
        ?.credentialSchema,
    ).toMatchObject({
      properties: {
        s3: { properties: { secretAccessKey: { writeOnly: true } } },
        sftp: { properties: { password: { writeOnly: true } } },
        http: { properties: { bearerToken: { writeOnly: true } } },
      },
    });

    const paths = async (body: unknown, method: 'POST' | 'PUT' = 'POST', url = '/credentials') => {
      const r = await call(method, url, body);
      expect(r.status, r.text).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
      return (r.body.error.details as { path: string }[]).map((d) => d.path);
    };
    expect(
      await paths({ name: 'pg-bad', connectorType: 'postgres', data: { host: 'db', password: 'pw-secret' } }),
    ).toEqual(expect.arrayContaining(['body.data.url', 'body.data.host', 'body.data.password']));
    expect(await paths({ name: 'pg-bad', connectorType: 'postgres', data: { url: 42 } })).toEqual([
      'body.data.url',
    ]);
    const shell = await paths({ name: 'sh-bad', connectorType: 'shell', data: { env: { TOKEN: 1 } } });
    expect(shell).toEqual(['body.data.env.TOKEN']);

    const ok = await call('POST', '/credentials', {
      name: 'pg-good',
      connectorType: 'postgres',
      data: { url: SERVER_URL },
    });
    expect(ok.status, ok.text).toBe(201);
    expect(await paths({ data: { url: '' } }, 'PUT', `/credentials/${ok.body.id}`)).toEqual([
      'body.data.url',
    ]);
    // A connector type with no credential schema (or none in the catalogue) takes any fields.
    const free = await call('POST', '/credentials', {
      name: 'smtp-any',
      connectorType: 'smtp',
      data: { user: 'alerts', password: 'x-y-z-secret' },
    });
    expect(free.status, free.text).toBe(201);
  });

  it("tests every connector's credential with its own connection check", async () => {
    writeFileSync(join(p.filesDir, 'cred-check.csv'), 'id\n1\n');
    const files = await call('POST', '/credentials', { name: 'files', connectorType: 'csv', data: {} });
    expect(files.status, files.text).toBe(201);
    const test = (id: string, body?: unknown) => call('POST', `/credentials/${id}/test`, body);
    const found = await test(files.body.id, { config: { path: 'cred-check.csv' } });
    expect(found.body, found.text).toEqual({
      ok: true,
      message: expect.stringMatching(/^found .*cred-check\.csv \(5 B\)$/),
    });
    // A file credential holds no path: the test names the field it needs.
    const noPath = await test(files.body.id);
    expect(noPath.status).toBe(400);
    expect((noPath.body.error.details as { path: string }[]).map((d) => d.path)).toEqual([
      'body.config.path',
    ]);
    const missing = await test(files.body.id, { config: { path: 'nowhere.csv' } });
    expect(missing.body).toMatchObject({ ok: false, message: expect.stringMatching(/file not found/) });
    const outside = await test(files.body.id, { config: { path: '/etc/passwd' } });
    expect(outside.body).toMatchObject({
      ok: false,
      message: expect.stringMatching(/outside the directories/),
    });
    // A connector that reaches no external system has nothing to test.
    const shell = await call('POST', '/credentials', {
      name: 'sh',
      connectorType: 'shell',
      data: { env: {} },
    });
    const none = await test(shell.body.id);
    expect(none.status).toBe(400);
    expect(none.body.error.details[0]).toMatchObject({
      path: 'credential.connectorType',
      message: expect.stringMatching(/has no connection check/),
    });
  });

  it('refuses to decrypt with another master key', async () => {
    const c = await call('POST', '/credentials', {
      name: 'other',
      connectorType: 'postgres',
      data: { url: 'postgres://etl:pw-123456@127.0.0.1:1/none' },
    });
    const [row] = (await p.database.db.select().from(credentials)).filter((r) => r.id === c.body.id);
    await expect(unseal('another key entirely', row!.encryptedData)).rejects.toThrow(
      /cannot be decrypted with this master key/,
    );
  });
});

it('creates the master key file once, readable by its owner only', async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-key-'));
  const k1 = await loadMasterKey(dir, {});
  const k2 = await loadMasterKey(dir, {});
  expect(k1).toBe(k2);
  expect(statSync(join(dir, 'master.key')).mode & 0o777).toBe(0o600);
  expect(await loadMasterKey(dir, { SLUICE_MASTER_KEY: 'x'.repeat(32) })).toBe('x'.repeat(32));
  await expect(loadMasterKey(dir, { SLUICE_MASTER_KEY: 'short' })).rejects.toThrow(/too short/);
});
