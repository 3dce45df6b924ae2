import { statSync } from 'node:fs';
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
