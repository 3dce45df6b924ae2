import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileStepStateStore, Registry, type RunOptions, runPipeline } from '@sluice/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { builtinConnectors } from '../src/index.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL } from './pg-schema.ts';

// Issue 14 §1: an incremental source's cursor belongs to the pipeline, not to the run: a plain
// second run reads only the rows added since the last successful one.

const registry = new Registry().register(...builtinConnectors);

describe('incremental state across runs', { timeout: 60_000 }, () => {
  const db = freshSchemaPerTest('CREATE TABLE $schema.src (id integer PRIMARY KEY, name text)');
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-state-'));
  });

  const insert = (from: number, to: number) =>
    db.admin.query(
      `INSERT INTO ${db.schema}.src SELECT i, 'n' || i FROM generate_series(${from}, ${to}) AS i`,
    );
  const spec = (mode: 'append' | 'upsert' | 'truncate' = 'append') => ({
    name: 'incr',
    checkpointEvery: 2,
    flow: [
      {
        id: 'read',
        source: 'postgres',
        with: {
          url: TEST_DATABASE_URL,
          dbSchema: db.schema,
          table: 'src',
          batchSize: 2,
          incremental: { column: 'id' },
        },
      },
      {
        sink: 'postgres',
        with: {
          url: TEST_DATABASE_URL,
          dbSchema: db.schema,
          table: 'dst',
          createTable: true,
          checkpointSchema: db.schema,
          mode,
          ...(mode === 'upsert' ? { key: ['id'] } : {}),
        },
      },
    ],
  });
  const run = (s: object, more: Partial<RunOptions> = {}) =>
    runPipeline(s, { registry, stateDir: dir, parallel: false, ...more });
  const destination = async () =>
    (await db.admin.query(`SELECT id::int AS id FROM ${db.schema}.dst ORDER BY 1`)).rows.map(
      (r) => r.id as number,
    );
  // Cancels the run once it read `rows` rows (at least 4: the checkpoint of the first 2 is then
  // committed, whatever the cancel interrupts).
  const cancelledAfter = (rows: number, s: object) => {
    const stop = new AbortController();
    return run(s, {
      signal: stop.signal,
      onEvent: (e) => {
        if (e.type === 'progress' && e.rowsRead >= rows) stop.abort();
      },
    });
  };
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('reads rows inserted between two runs once, and everything again after a reset', async () => {
    await insert(1, 7);
    const first = await run(spec());
    expect(first.status, JSON.stringify(first.error)).toBe('success');
    expect(first.steps[0]!.rowsRead).toBe(7);
    await insert(8, 9);
    const second = await run(spec());
    expect(second.status, JSON.stringify(second.error)).toBe('success');
    expect(second.steps[0]!.rowsRead).toBe(2);
    expect(await destination()).toEqual(range(1, 9));
    const third = await run(spec());
    expect(third.steps[0]!.rowsRead).toBe(0);

    const store = fileStepStateStore(join(dir, 'state'));
    expect(await store.list()).toEqual({ main: { cursor: 9 } });
    expect(await store.reset('main')).toEqual(['main']);
    const again = await run(spec('truncate'));
    expect(again.status, JSON.stringify(again.error)).toBe('success');
    expect(again.steps[0]!.rowsRead).toBe(9);
    expect(await destination()).toEqual(range(1, 9));
  });

  it('keeps the last saved cursor when a run is interrupted; --resume continues it', async () => {
    await insert(1, 3);
    expect((await run(spec())).status).toBe('success');
    await insert(4, 11);
    expect((await cancelledAfter(4, spec())).status).toBe('cancelled');
    // Some of rows 4..11 are committed, the pipeline's cursor has not moved.
    expect((await destination()).length).toBeGreaterThan(3);
    expect(await fileStepStateStore(join(dir, 'state')).load('main')).toEqual({ cursor: 3 });
    const resumed = await run(spec(), { resume: true });
    expect(resumed.status, JSON.stringify(resumed.error)).toBe('success');
    expect(await destination()).toEqual(range(1, 11));
    expect(await fileStepStateStore(join(dir, 'state')).load('main')).toEqual({ cursor: 11 });
    await insert(12, 12);
    expect((await run(spec())).steps[0]!.rowsRead).toBe(1);
    expect(await destination()).toEqual(range(1, 12));
  });

  it('a fresh run after an interrupted one starts from the saved cursor: an upsert sink holds each row once', async () => {
    await insert(1, 3);
    expect((await run(spec('upsert'))).status).toBe('success');
    await insert(4, 11);
    expect((await cancelledAfter(4, spec('upsert'))).status).toBe('cancelled');
    const fresh = await run(spec('upsert'));
    expect(fresh.status, JSON.stringify(fresh.error)).toBe('success');
    expect(fresh.steps[0]!.rowsRead).toBe(8);
    expect(await destination()).toEqual(range(1, 11));
  });

  it('refuses a fresh append run after an interrupted one, which would write its rows twice', async () => {
    await insert(1, 6);
    expect((await cancelledAfter(4, spec())).status).toBe('cancelled');
    const before = await destination();
    const fresh = await run(spec());
    expect(fresh.status).toBe('failed');
    expect(fresh.error?.code).toBe('CHECKPOINT_INVALID');
    expect(fresh.error?.message).toMatch(/--resume/);
    expect(await destination()).toEqual(before);
    expect((await run(spec(), { resume: true })).status).toBe('success');
    expect(await destination()).toEqual(range(1, 6));
  });

  it('keeps nothing for a source without state', async () => {
    await writeFile(join(dir, 'in.csv'), 'id\n1\n2\n');
    const files = {
      name: 'files',
      flow: [
        { source: 'csv', with: { path: join(dir, 'in.csv') } },
        { sink: 'ndjson', with: { path: join(dir, 'out.ndjson') } },
      ],
    };
    expect((await run(files)).status).toBe('success');
    expect(await fileStepStateStore(join(dir, 'state')).list()).toEqual({});
  });

  it('appends after a run that succeeded but crashed before dropping its destination checkpoint', async () => {
    await insert(1, 3);
    expect((await run(spec())).status).toBe('success');
    // What a crash between recording the success and `forget` leaves at the destination.
    await db.admin.query(
      `INSERT INTO ${db.schema}.checkpoints (key, seq, position) VALUES ($1, 2, '{"cursor": 3}')`,
      [`incr/main/main.1:postgres → ${db.schema}.dst`],
    );
    await insert(4, 5);
    const next = await run(spec());
    expect(next.status, JSON.stringify(next.error)).toBe('success');
    expect(await destination()).toEqual(range(1, 5));
  });
});
