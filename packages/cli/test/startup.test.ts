import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice } from './helpers.ts';

// A connector's heavy libraries load when a step uses them, not with every command (Parquet's
// took ~100 ms of each start: docs/cli.md). Node's module hooks list what a command loads.
describe('what a command loads', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-startup-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('validating a CSV → NDJSON spec of one file loads no Parquet library and no glob matcher', async () => {
    const log = join(dir, 'loaded.txt');
    const hooks = join(dir, 'hooks.mjs');
    await writeFile(
      hooks,
      `import { appendFileSync } from 'node:fs';\n` +
        `export async function load(url, context, next) {\n` +
        `  appendFileSync(${JSON.stringify(log)}, url + '\\n');\n` +
        `  return next(url, context);\n}\n`,
    );
    const register = join(dir, 'register.mjs');
    await writeFile(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const spec = join(dir, 'p.yaml');
    await writeFile(
      spec,
      'name: p\nflow:\n  - source: csv\n    with: { path: in.csv }\n  - sink: ndjson\n    with: { path: out.ndjson }\n',
    );
    const r = await sluice(['validate', spec], {
      env: { NODE_OPTIONS: `--import ${pathToFileURL(register).href}` },
    });
    expect(r.code, r.stderr).toBe(0);
    const loaded = await readFile(log, 'utf8');
    // The hooks saw the command's own modules, so an absence below means something.
    expect(loaded).toMatch(/node_modules\/commander\//);
    expect(loaded).not.toMatch(/node_modules\/hyparquet/);
    expect(loaded).not.toMatch(/node_modules\/picomatch\//);
  });
});
