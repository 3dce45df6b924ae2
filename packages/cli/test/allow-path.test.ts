import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { sluice, startSluice } from './helpers.ts';

// `--allow-path` (or SLUICE_ALLOW_PATH) adds directories pipelines may open on the platform; one
// that cannot be a safe root stops the server before it opens anything.

const base = mkdtempSync(join(tmpdir(), 'sluice-allow-'));
const files = join(base, 'files');
const data = join(base, 'data');
const extra = join(base, 'extra');
for (const d of [files, join(data, 'inner'), extra]) mkdirSync(d, { recursive: true });
const dirs = ['--data-dir', data, '--files-dir', files];

it('refuses to start with an allowed directory inside the data directory, or one that does not exist', async () => {
  const inside = await sluice(['serve', ...dirs, '--allow-path', join(data, 'inner')]);
  expect(inside.code).toBe(1);
  expect(inside.stderr).toMatch(/--allow-path .*inner lies inside the data directory/);
  const missing = await sluice(['worker', ...dirs], {
    env: { SLUICE_ALLOW_PATH: `${extra}:${join(base, 'nope')}` },
  });
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/--allow-path .*nope: no such directory/);
});

it('says which directories pipelines may open besides the files directory', async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const { child, banner } = await startSluice([
    'serve',
    ...dirs,
    '--allow-path',
    extra,
    '--port',
    String(port),
  ]);
  expect(banner).toContain(`pipelines may also open files in ${extra}`);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}, 60_000);
