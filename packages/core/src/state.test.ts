import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fileStepStateStore } from './state.ts';

it('keeps one file per step, lists them and resets one or all', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'sluice-state-unit-')), 'state');
  const store = fileStepStateStore(dir);
  expect(await store.list()).toEqual({});
  expect(await store.load('load')).toBeUndefined();
  expect(await store.reset()).toEqual([]);
  await store.save('load', { cursor: 42 });
  // Step ids are validated as names, but a file name must never escape the directory.
  await store.save('../odd/id', { cursor: '2026-12-05T00:00:00Z' });
  expect((await readdir(dir)).sort()).toEqual(['..%2Fodd%2Fid.json', 'load.json']);
  expect(await store.list()).toEqual({
    '../odd/id': { cursor: '2026-12-05T00:00:00Z' },
    load: { cursor: 42 },
  });
  expect(await store.reset('load')).toEqual(['load']);
  expect(await store.load('load')).toBeUndefined();
  expect(await store.reset()).toEqual(['../odd/id']);
  expect(await store.list()).toEqual({});
});
