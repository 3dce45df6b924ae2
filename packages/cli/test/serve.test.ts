import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { sluice, startSluice } from './helpers.ts';

const examples = join(import.meta.dirname, '../../../examples');

it('serves on the embedded database with the examples, refuses a second process, stops on SIGTERM', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-serve-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const { child, banner } = await startSluice([
    'serve',
    '--data-dir',
    dataDir,
    '--port',
    String(port),
    '--files-dir',
    examples,
    '--example',
    join(examples, 'orders.yaml'),
    '--example',
    join(examples, 'branches.yaml'),
  ]);
  expect(banner).toContain(`Sluice is running at http://127.0.0.1:${port}`);
  expect(banner).toMatch(/example pipelines ready to run: orders-example, branches-example/);
  const password = /sign in as admin with password (\S+)/.exec(banner)?.[1];
  expect(password, 'the first start prints the generated admin password').toBeTruthy();
  const anonymous = await fetch(`http://127.0.0.1:${port}/api/v1/pipelines`);
  expect(anonymous.status).toBe(401);
  const session = (await (
    await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    })
  ).json()) as { accessToken: string };
  const list = (await (
    await fetch(`http://127.0.0.1:${port}/api/v1/pipelines`, {
      headers: { authorization: `Bearer ${session.accessToken}` },
    })
  ).json()) as { total: number };
  expect(list.total).toBe(2);

  // Issue 14: a port in use says how to choose another.
  const taken = await sluice([
    'serve',
    '--data-dir',
    mkdtempSync(join(tmpdir(), 'sluice-serve-')),
    '--port',
    String(port),
  ]);
  expect(taken.code).toBe(1);
  expect(taken.stderr).toContain(`port ${port} on 127.0.0.1 is already in use by another program`);
  expect(taken.stderr).toContain(`npm start -- --port ${port + 1}`);

  const second = await sluice(['serve', '--data-dir', dataDir, '--port', String(port + 1)]);
  expect(second.code).toBe(1);
  expect(second.stderr).toMatch(
    new RegExp(`the data directory ${dataDir} is in use by process ${child.pid}`),
  );

  // sluice doctor: asks the running server, and says to when the data directory is held.
  const doctor = await sluice(['doctor', '--url', `http://127.0.0.1:${port}`]);
  expect(doctor.code).toBe(0);
  expect(doctor.stdout).toMatch(/✓ database/);
  expect(doctor.stdout).toMatch(/✓ queue/);
  expect(doctor.stdout).toMatch(/all good/);
  const held = await sluice(['doctor', '--data-dir', dataDir]);
  expect(held.code).toBe(1);
  expect(held.stderr).toMatch(/sluice doctor --url/);

  child.kill('SIGTERM');
  const code = await new Promise((r) => child.once('exit', r));
  expect(code).toBe(0);
  expect(existsSync(join(dataDir, 'sluice.lock'))).toBe(false);
}, 120_000);

// Issue 14: the platform kept its database in ./.sluice, beside `sluice run`'s state, and read
// DATABASE_URL, the name pipelines use for their own sinks.
it('keeps the embedded database in .sluice/platform and leaves DATABASE_URL to pipelines', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'sluice-cwd-'));
  const nowhere = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/warehouse' };
  const fresh = await sluice(['migrate'], { cwd, env: nowhere });
  expect(fresh.code, fresh.stderr).toBe(0);
  expect(existsSync(join(cwd, '.sluice', 'platform', 'db'))).toBe(true);

  const refused = await sluice(['migrate'], { cwd, env: { SLUICE_DATABASE_URL: nowhere.DATABASE_URL } });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/127\.0\.0\.1:1/);

  // A data directory made by an earlier version stays where it is.
  const old = mkdtempSync(join(tmpdir(), 'sluice-cwd-'));
  mkdirSync(join(old, '.sluice', 'db'), { recursive: true });
  const legacy = await sluice(['migrate'], { cwd: old });
  expect(legacy.code, legacy.stderr).toBe(0);
  expect(existsSync(join(old, '.sluice', 'platform'))).toBe(false);
  expect(existsSync(join(old, '.sluice', 'db', 'PG_VERSION'))).toBe(true);
}, 120_000);
