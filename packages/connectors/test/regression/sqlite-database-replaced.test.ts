import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipeline } from '@sluice/core';
import { expect, it } from 'vitest';
import { createRegistry } from '../../src/registry.ts';

// A run whose other step failed leaves the SQLite step's checkpoint file; the next run drops the
// checkpoint row at the destination. When the database file had been deleted in between, that
// failed with "no such table: sluice_checkpoints" and failed the step, though nothing was left to drop.
it('a new run succeeds when the SQLite database was deleted after a run that left a checkpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-sqlite-replaced-'));
  writeFileSync(join(dir, 'in.csv'), 'id,name\n1,a\n2,b\n');
  const spec = (fail: boolean) => ({
    name: 'replaced',
    steps: [
      {
        id: 'load',
        flow: [
          { source: 'csv', with: { path: 'in.csv' } },
          { sink: 'sqlite', with: { path: 'out.db', table: 't', createTable: true, mode: 'truncate' } },
        ],
      },
      {
        id: 'other',
        retry: { attempts: 1 },
        flow: [
          { source: 'csv', with: { path: fail ? 'missing.csv' : 'in.csv' } },
          { sink: 'ndjson', with: { path: 'other.ndjson' } },
        ],
      },
    ],
  });
  const opts = { registry: createRegistry(), stateDir: join(dir, 'state'), baseDir: dir };
  expect((await runPipeline(spec(true), opts)).status).toBe('failed');
  rmSync(join(dir, 'out.db'));
  const again = await runPipeline(spec(false), opts);
  expect(again.steps.map((s) => [s.id, s.status, s.error?.message])).toEqual([
    ['load', 'success', undefined],
    ['other', 'success', undefined],
  ]);
});
