import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PathPolicy, Registry, runPipeline } from '@sluice/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinConnectors } from '../src/index.ts';

// Issue 14: on the platform, every local path a step opens must lie inside the allowed roots.
// The engine applies the run's `paths` policy in every file connector and the shell task's cwd.

const registry = new Registry().register(...builtinConnectors);
let base: string;
let root: string;
let outside: string;
let policy: PathPolicy;
let runs = 0;

beforeAll(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-conn-paths-')));
  root = join(base, 'root');
  outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  const rows = Array.from({ length: 2000 }, (_, i) => i);
  writeFileSync(join(outside, 'in.csv'), `id\n${rows.join('\n')}\n`);
  writeFileSync(join(outside, 'in.ndjson'), rows.map((id) => JSON.stringify({ id })).join('\n'));
  writeFileSync(join(outside, 'in.json'), JSON.stringify(rows.map((id) => ({ id }))));
  writeFileSync(join(root, 'in.csv'), 'id\n1\n2\n');
  policy = { roots: [root] };
});

async function run(spec: object, paths: PathPolicy | null = policy, parallel = false) {
  return runPipeline(
    { name: `paths-${runs}`, ...spec },
    {
      registry,
      baseDir: root,
      stateDir: join(base, 'state', String(runs++)),
      ...(paths ? { paths } : {}),
      parallel: parallel ? { threads: 2, minBytes: 0, chunkBytes: 4096 } : false,
    },
  );
}

const copy = (source: string, path: string, sink: string, out: string) => ({
  flow: [
    { source, with: { path } },
    { sink, with: { path: out } },
  ],
});

function expectRefused(report: Awaited<ReturnType<typeof run>>, path: string) {
  expect(report.status).toBe('failed');
  expect(report.error?.code).toBe('PATH_FORBIDDEN');
  expect(report.error?.message).toContain(path);
  expect(report.steps[0]).toMatchObject({ rowsRead: 0, rowsWritten: 0, rowsQuarantined: 0 });
  expect(report.quarantine.rows).toBe(0);
}

describe('file sources under a path policy', () => {
  for (const [source, file] of [
    ['csv', 'in.csv'],
    ['ndjson', 'in.ndjson'],
    ['json', 'in.json'],
  ] as const) {
    for (const parallel of [false, true]) {
      it(`${source} refuses a path outside the roots${parallel ? ' (parallel)' : ''}`, async () => {
        const path = `../outside/${file}`;
        expectRefused(await run(copy(source, path, 'ndjson', 'out.ndjson'), policy, parallel), path);
        expect(existsSync(join(root, 'out.ndjson'))).toBe(false);
      });
    }
  }

  it('reads inside the roots, and anywhere without a policy (the CLI)', async () => {
    const ok = await run(copy('csv', 'in.csv', 'ndjson', 'ok.ndjson'));
    expect(ok.status, JSON.stringify(ok.error)).toBe('success');
    const free = await run(copy('csv', '../outside/in.csv', 'ndjson', 'free.ndjson'), null);
    expect(free.status, JSON.stringify(free.error)).toBe('success');
    expect(free.steps[0]!.rowsRead).toBe(2000);
  });
});

describe('file sinks under a path policy', () => {
  for (const sink of ['csv', 'ndjson', 'json']) {
    it(`${sink} refuses a path outside the roots and writes nothing`, async () => {
      const out = join(outside, `out.${sink}`);
      expectRefused(await run(copy('csv', 'in.csv', sink, out)), out);
      expect(readdirSync(outside).sort()).toEqual(['in.csv', 'in.json', 'in.ndjson']);
    });
  }

  it('refuses a .partial file that is a symlink out of the roots', async () => {
    symlinkSync(join(outside, 'planted'), join(root, 'trap.ndjson.partial'));
    expectRefused(await run(copy('csv', 'in.csv', 'ndjson', 'trap.ndjson')), 'trap.ndjson.partial');
    expect(existsSync(join(outside, 'planted'))).toBe(false);
  });
});

describe('the shell task under a path policy', () => {
  const shell = (cwd: string) => ({
    steps: [{ id: 'prep', task: 'shell', with: { command: ['pwd'], cwd } }],
  });

  it('refuses a working directory outside the roots', async () => {
    const report = await run(shell('../outside'));
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('PATH_FORBIDDEN');
    expect(report.error?.message).toContain('step "prep"');
  });

  it('runs in the roots', async () => {
    const report = await run(shell('.'));
    expect(report.status).toBe('success');
    expect(report.steps[0]!.output).toBe(root);
  });
});
