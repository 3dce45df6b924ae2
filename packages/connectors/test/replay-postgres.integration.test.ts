import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, replayQuarantine, runPipeline } from '@sluice/core';
import { expect, it } from 'vitest';
import { builtinConnectors } from '../src/index.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL as URL } from './pg-schema.ts';

const db = freshSchemaPerTest('CREATE TABLE $schema.out (id bigint, amount numeric, name text)');
const registry = new Registry().register(...builtinConnectors);

const spec = (amount: string) => ({
  name: 'replay-pg',
  steps: [
    {
      id: 'load',
      checkpointEvery: 2,
      flow: [
        { source: 'ndjson', with: { path: 'in.ndjson', batchSize: 2 } },
        { transform: 'cast', with: { fields: { amount } } },
        {
          sink: 'postgres',
          with: {
            url: URL,
            dbSchema: db.schema,
            table: 'out',
            checkpointSchema: db.schema,
            mode: 'truncate',
          },
        },
      ],
    },
  ],
});

const ids = async () =>
  (await db.admin.query(`SELECT id FROM ${db.schema}.out ORDER BY id`)).rows.map((r) => Number(r.id));

it('adds the replayed rows to a truncate-mode table without truncating it, exactly once across an interruption', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-replay-pg-'));
  const stateDir = join(dir, 'state');
  const rows = [];
  for (let i = 1; i <= 12; i++)
    rows.push({ id: i, amount: i % 3 === 0 ? `${i}.5` : String(i), name: `n${i}` });
  // A value PostgreSQL cannot store: the sink sets it aside, and a replay sends it to that sink only.
  rows.push({ id: 13, amount: '13', name: 'nul\u0000' });
  writeFileSync(join(dir, 'in.ndjson'), rows.map((r) => JSON.stringify(r)).join('\n'));
  const opts = { registry, baseDir: dir, stateDir };
  const run = await runPipeline(spec('integer'), opts);
  expect(run.status).toBe('success');
  expect(run.steps[0]!.rowsQuarantined).toBe(5);
  expect(await ids()).toEqual([1, 2, 4, 5, 7, 8, 10, 11]);

  const abort = new AbortController();
  const cut = await replayQuarantine(spec('number'), {
    ...opts,
    signal: abort.signal,
    onEvent: (e) => {
      if (e.type === 'progress') abort.abort();
    },
  });
  expect(cut.status).toBe('cancelled');
  // The first checkpoint's rows are committed (with the replay's own checkpoint row), the rest not.
  expect(await ids()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 10, 11]);
  const keys = await db.admin.query(`SELECT key FROM ${db.schema}.checkpoints WHERE key LIKE $1`, [
    `replay-pg/load/%/replay → ${db.schema}.out`,
  ]);
  expect(keys.rowCount).toBe(1);

  const replay = await replayQuarantine(spec('number'), opts);
  expect(replay.status).toBe('success');
  expect(replay.steps[0]!.replay).toMatchObject({ taken: 5, written: 4, quarantined: 1, notReplayable: 0 });
  expect(await ids()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const open = (await readFile(join(stateDir, 'steps', 'load', 'quarantine.ndjson'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  expect(open).toHaveLength(1);
  expect(open[0]).toMatchObject({ component: 'load.2:postgres', line: 13 });
  // The replay's checkpoint at the destination is gone once it succeeded.
  const left = await db.admin.query(`SELECT key FROM ${db.schema}.checkpoints WHERE key LIKE $1`, [
    `replay-pg/load/%/replay → ${db.schema}.out`,
  ]);
  expect(left.rowCount).toBe(0);
});
