import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, runPipeline } from '@sluice/core';
import { expect, it } from 'vitest';
import { builtinConnectors } from '../../src/index.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL as URL } from '../pg-schema.ts';

// A flow into a PostgreSQL upsert reported INTEGRITY_FAILED when the sink merged a repeated key
// or quarantined a row the server cannot store: both were counted as lost.
const db = freshSchemaPerTest('CREATE TABLE $schema.out (id bigint PRIMARY KEY, name text)');

it('balances rows a sink merged by key or quarantined, across checkpoints', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-merge-'));
  const rows = [
    { id: 1, name: 'a' },
    { id: 2, name: 'b' },
    { id: 1, name: 'a2' },
    { id: 3, name: 'nul\u0000' },
    { id: 4, name: 'd' },
    { id: 4, name: 'd2' },
    { id: 5, name: 'e' },
  ];
  writeFileSync(join(dir, 'in.ndjson'), rows.map((r) => JSON.stringify(r)).join('\n'));
  const spec = {
    name: 'merge',
    flow: [
      { source: 'ndjson', with: { path: 'in.ndjson', batchSize: 2 } },
      {
        sink: 'postgres',
        with: { url: URL, dbSchema: db.schema, table: 'out', mode: 'upsert', key: ['id'] },
      },
    ],
    checkpointEvery: 2,
  };
  const report = await runPipeline(spec, {
    registry: new Registry().register(...builtinConnectors),
    baseDir: dir,
    stateDir: join(dir, 'state'),
  });
  expect(report.integrity).toEqual({ ok: true, problems: [], verified: 'count' });
  expect(report.steps[0]).toMatchObject({
    status: 'success',
    rowsRead: 7,
    rowsQuarantined: 1,
    rowsFiltered: 1,
    rowsWritten: 5,
  });
  const got = await db.admin.query(`SELECT id::int, name FROM ${db.schema}.out ORDER BY id`);
  expect(got.rows).toEqual([
    { id: 1, name: 'a2' },
    { id: 2, name: 'b' },
    { id: 4, name: 'd2' },
    { id: 5, name: 'e' },
  ]);
});
