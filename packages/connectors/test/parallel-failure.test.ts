import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectorDefinition, Registry, runPipeline } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinConnectors } from '../src/index.ts';

let dir: string;
let input: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-parallel-fail-'));
  input = join(dir, 'in.csv');
  let text = 'id,name\n';
  for (let i = 0; i < 300_000; i++) text += `${i},name ${i}\n`;
  await writeFile(input, text);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
let n = 0;
const sub = (name: string) => join(dir, `${n++}-${name}`);

const flow = (out: string, fields: string[], sink = 'csv') => ({
  name: 'fail',
  flow: [
    { source: 'csv', with: { path: input } },
    { transform: 'select', with: { fields } },
    { sink, with: { path: out } },
  ],
});

const registry = (change: (d: ConnectorDefinition) => ConnectorDefinition) =>
  new Registry().register(...builtinConnectors.map(change));

// A thread that fails while it holds no chunk (a CSV sink's first chunk stays on the main
// thread) used to be forgotten: the flow waited for it forever, or served chunks with the flow
// the thread had set up before.
describe('a parallel flow whose worker thread fails with no chunk in hand', { timeout: 30_000 }, () => {
  it('fails, rather than waiting forever, when the thread dies while it loads', async () => {
    const crash = { resolve: () => ({ url: new URL('./fixtures/crashing-worker.mjs', import.meta.url) }) };
    const reg = registry((d) => ({ ...d, worker: crash }));
    for (const mainShare of [true, false]) {
      const out = sub('crash.csv');
      const report = await runPipeline(flow(out, ['id', 'name']), {
        registry: reg,
        stateDir: `${out}-state`,
        parallel: { threads: 2, chunkBytes: 1 << 20, minBytes: 0, mainShare },
      });
      expect(report.status).toBe('failed');
      expect(report.error?.message).toContain('the worker module failed to load');
    }
  });

  it('fails, rather than using the flow the thread served before, when its set-up fails', async () => {
    const parallel = { threads: 2, chunkBytes: 4096, minBytes: 0 };
    const first = sub('first.ndjson');
    const good = registry((d) => d);
    const ok = await runPipeline(flow(first, ['id', 'name'], 'ndjson'), {
      registry: good,
      stateDir: `${first}-state`,
      parallel,
    });
    expect(ok.status).toBe('success');
    // The main thread's select claims a version the threads do not have: their set-up fails.
    const bad = registry((d) =>
      d.kind === 'transform' && d.name === 'select' ? { ...d, version: '9.9.9' } : d,
    );
    const second = sub('second.ndjson');
    const report = await runPipeline(flow(second, ['id'], 'ndjson'), {
      registry: bad,
      stateDir: `${second}-state`,
      parallel,
    });
    expect(report.status).toBe('failed');
    expect(report.error?.message).toContain('9.9.9');
    const written = await readFile(second, 'utf8').catch(() => '');
    expect(written).not.toContain('"name"');
  });
});
