import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, runPipeline } from '@sluice/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Api, startApi } from '../../test/http-api.ts';
import { builtinConnectors } from '../index.ts';

// The since-value belongs to the pipeline step, not to one run: kept in the step's state by the
// engine, on disk, and sent by the next plain run.

const registry = new Registry().register(...builtinConnectors);
let dir: string;
let api: Api | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-http-incr-'));
});
afterEach(async () => {
  await api?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('http source: incremental across runs of a pipeline', () => {
  it('the second run sends the highest updated_at of the first and reads only newer records', async () => {
    const rows = [1, 2, 3].map((i) => ({ id: i, updated_at: `2026-01-0${i}T00:00:00Z` }));
    api = await startApi(rows);
    const out = join(dir, 'out.ndjson');
    const spec = {
      name: 'http-incr',
      flow: [
        {
          source: 'http',
          with: {
            url: `${api.url}/page`,
            records: 'data',
            pagination: { type: 'page' },
            incremental: { field: 'updated_at', param: 'since' },
          },
        },
        { sink: 'ndjson', with: { path: out } },
      ],
    };
    const run = async () => {
      const report = await runPipeline(spec, { registry, baseDir: dir, stateDir: join(dir, 'state') });
      expect(report.status, JSON.stringify(report.error)).toBe('success');
      return (await readFile(out, 'utf8'))
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).id);
    };
    expect(await run()).toEqual([1, 2, 3]);
    expect(api.seen[0]!.url.searchParams.get('since')).toBeNull();
    rows.push({ id: 4, updated_at: '2026-01-04T00:00:00Z' }, { id: 5, updated_at: '2026-01-05T00:00:00Z' });
    const before = api.seen.length;
    expect(await run()).toEqual([4, 5]);
    expect(api.seen[before]!.url.searchParams.get('since')).toBe('2026-01-03T00:00:00Z');
  });
});
