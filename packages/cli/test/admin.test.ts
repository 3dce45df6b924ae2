import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { sluice } from './helpers.ts';

// Eleven CLI processes, each opening PGlite (~3 s apiece on an idle machine): 60 s ran out when the
// suite's other file loaded both cores.
it('manages users and rotates the master key on a data directory', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-admin-'));
  const run = (args: string[], env: Record<string, string> = {}) =>
    sluice([...args, '--data-dir', dataDir], { env });
  const created = await run(['users', 'create', 'ana', 'operator'], { SLUICE_PASSWORD: 'ana-password-1' });
  expect(created.stderr).toBe('');
  expect(created.stdout).toMatch(/created ana \(operator\)/);
  const short = await run(['users', 'create', 'bo', 'viewer'], { SLUICE_PASSWORD: 'short' });
  expect(short.code).toBe(1);
  expect(short.stderr).toMatch(/at least 10/);
  const badRole = await run(['users', 'set-role', 'ana', 'root']);
  expect(badRole.stderr).toMatch(/unknown role "root": use admin, operator, viewer/);
  expect((await run(['users', 'set-role', 'ana', 'admin'])).code).toBe(0);
  expect((await run(['users', 'create', 'boss', 'admin'], { SLUICE_PASSWORD: 'boss-password-1' })).code).toBe(
    0,
  );
  expect((await run(['users', 'disable', 'ana'])).stdout).toMatch(/ana: admin, disabled/);
  expect((await run(['users', 'disable', 'boss'])).stderr).toMatch(/last active admin/);
  expect((await run(['users', 'list'])).stdout).toMatch(/^ana\tadmin\tdisabled$/m);
  expect((await run(['users', 'disable', 'nobody'])).stderr).toMatch(/no user named "nobody"/);

  const rotated = await run(['keys', 'rotate']);
  expect(rotated.stderr).toBe('');
  expect(rotated.stdout).toMatch(/re-encrypted 0 credentials, 0 TOTP secrets, 0 webhook secrets/);
  const keyFile = join(dataDir, 'master.key');
  expect(rotated.stdout).toContain(keyFile);
  expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  expect(readFileSync(keyFile, 'utf8').trim()).toHaveLength(44);
}, 150_000);
