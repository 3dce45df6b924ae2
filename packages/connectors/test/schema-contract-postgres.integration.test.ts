import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, type RunReport } from '@sluice/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresSink } from '../src/postgres/sink.ts';
import { postgresSource } from '../src/postgres/source.ts';
import { figures, run, tinyChunks } from './parallel-harness.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL } from './pg-schema.ts';

// Issue 17 §5: the postgres sink's schema contract (evolve, freeze, discard_row, discard_value)
// and createTable inferring from the first inferRows rows, through whole runs.

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-contract-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('postgres sink schema contract', { timeout: 120_000 }, () => {
  const db = freshSchemaPerTest('CREATE TABLE $schema.out (id integer, name varchar(3))');

  /** Runs rows (as NDJSON, two a batch, a checkpoint every two by default) into `table`. */
  const load = async (rows: object[], sink: object, parallel = false, table = 'out', checkpointEvery = 2) => {
    const path = join(dir, `in-${table}.ndjson`);
    await writeFile(path, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const spec = {
      name: 'contract',
      checkpointEvery,
      flow: [
        { source: 'ndjson', with: { path, batchSize: 2 } },
        {
          sink: 'postgres',
          with: { url: TEST_DATABASE_URL, dbSchema: db.schema, checkpointSchema: db.schema, table, ...sink },
        },
      ],
    };
    return run(spec, join(dir, `state-${table}`), parallel ? tinyChunks(4096) : false);
  };
  const sinkOf = (r: RunReport) => r.steps[0]!.components.find((c) => c.kind === 'sink')!;
  const types = async (table = 'out') =>
    (
      await db.admin.query(
        `SELECT column_name AS c, data_type AS t FROM information_schema.columns
          WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
        [db.schema, table],
      )
    ).rows.map((r) => `${r.c}:${r.t}`);
  const rows = async (sql: string) => (await db.admin.query(sql.replaceAll('$s', db.schema))).rows;

  const mixed = [
    { id: 1, name: 'a' },
    { id: 2, name: 'b', extra: 1 },
    { id: 3_000_000_000, name: 'c' },
    { id: 4, name: 'toolong' },
  ];

  it('evolve (the default) adds columns and widens integer → bigint → numeric and varchar → text', async () => {
    const { report } = await load(
      [
        { id: 1, name: 'ab' },
        { id: 2, name: 'abcdef', extra: 5 },
        { id: 3_000_000_000, name: 'c' },
        { id: '100000000000000000000', name: 'd' },
        { id: 5, name: 'e', extra: 7.5 },
      ],
      {},
    );
    expect(report.status, JSON.stringify(report.error)).toBe('success');
    expect(await types()).toEqual(['id:numeric', 'name:text', 'extra:numeric']);
    expect(await rows('SELECT id::text AS i, name, extra::text FROM $s.out ORDER BY id')).toEqual([
      { i: '1', name: 'ab', extra: null },
      { i: '2', name: 'abcdef', extra: '5' },
      { i: '5', name: 'e', extra: '7.5' },
      { i: '3000000000', name: 'c', extra: null },
      { i: '100000000000000000000', name: 'd', extra: null },
    ]);
    expect(sinkOf(report).schemaChanges).toEqual([
      { change: 'column_added', column: 'extra', type: 'bigint' },
      { change: 'type_widened', column: 'name', from: 'character varying(3)', type: 'text' },
      { change: 'type_widened', column: 'id', from: 'integer', type: 'numeric' },
      { change: 'type_widened', column: 'extra', from: 'bigint', type: 'numeric' },
    ]);
    expect(report.steps[0]!.integrity?.ok).toBe(true);
  });

  it('freeze fails the step naming the column and how to allow it; nothing of its transaction stays', async () => {
    const { report } = await load(mixed, { schema: 'freeze' });
    expect(report.status).toBe('failed');
    expect(report.error?.fatal).toBe(true);
    expect(report.error?.message).toMatch(
      /has no column "extra" \(its columns: id, name\), and schema: freeze changes no column\. Set schema: evolve/,
    );
    expect(report.error?.message).toContain(`ALTER TABLE "${db.schema}"."out" ADD COLUMN "extra" bigint`);
    expect(await rows('SELECT * FROM $s.out')).toEqual([]);
    expect(await types()).toEqual(['id:integer', 'name:character varying']);
  });

  it('discard_row quarantines rows with a field the table has no room for, with the reason', async () => {
    const { report, quarantine } = await load(mixed, { schema: 'discard_row' });
    expect(report.status, JSON.stringify(report.error)).toBe('success');
    expect(await rows('SELECT id, name FROM $s.out')).toEqual([{ id: 1, name: 'a' }]);
    expect(quarantine.map((q) => q.reason)).toEqual([
      `field "extra" has no column in table ${db.schema}.out (schema: discard_row)`,
      `field "id" does not fit its column's type integer in table ${db.schema}.out (schema: discard_row)`,
      `field "name" does not fit its column's type character varying(3) in table ${db.schema}.out (schema: discard_row)`,
    ]);
    expect(sinkOf(report)).toMatchObject({ rowsIn: 4, rowsOut: 1, rowsQuarantined: 3 });
    expect(sinkOf(report).schemaChanges).toEqual([
      { change: 'rows_discarded', column: 'extra', count: 1 },
      { change: 'rows_discarded', column: 'id', count: 1 },
      { change: 'rows_discarded', column: 'name', count: 1 },
    ]);
    expect(report.steps[0]!.integrity?.ok).toBe(true);
    expect(await types()).toEqual(['id:integer', 'name:character varying']);
  });

  it('discard_value writes every row without the values the table has no room for, and counts them', async () => {
    const { report, quarantine } = await load([...mixed, { id: 5, extra: 2 }], { schema: 'discard_value' });
    expect(report.status, JSON.stringify(report.error)).toBe('success');
    expect(quarantine).toEqual([]);
    expect(await rows('SELECT id, name FROM $s.out ORDER BY id NULLS LAST')).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
      { id: 4, name: null },
      { id: 5, name: null },
      { id: null, name: 'c' },
    ]);
    expect(sinkOf(report).schemaChanges).toEqual([
      { change: 'values_dropped', column: 'extra', count: 2 },
      { change: 'values_dropped', column: 'id', count: 1 },
      { change: 'values_dropped', column: 'name', count: 1 },
    ]);
    expect(await types()).toEqual(['id:integer', 'name:character varying']);
  });

  it('createTable infers from the first inferRows rows, not only the first batch', async () => {
    const input = [
      { id: 1, x: null },
      { id: 2, x: null },
      { id: 3, x: 4, y: 'late' },
      { id: 4, x: 5 },
    ];
    const whole = await load(input, { createTable: true }, false, 'fresh', 100);
    expect(whole.report.status, JSON.stringify(whole.report.error)).toBe('success');
    expect(await types('fresh')).toEqual(['id:bigint', 'x:bigint', 'y:text']);
    expect(sinkOf(whole.report).schemaChanges).toBeUndefined();
    // From the first batch only, x was all nulls (text), and y came later: evolve added it.
    const first = await load(input, { createTable: true, inferRows: 2 }, false, 'early');
    expect(first.report.status, JSON.stringify(first.report.error)).toBe('success');
    expect(await types('early')).toEqual(['id:bigint', 'x:text', 'y:text']);
    expect(sinkOf(first.report).schemaChanges).toEqual([
      { change: 'column_added', column: 'y', type: 'text' },
    ]);
    expect(await rows('SELECT id::int, x FROM $s.early ORDER BY id')).toEqual([
      { id: 1, x: null },
      { id: 2, x: null },
      { id: 3, x: '4' },
      { id: 4, x: '5' },
    ]);
  });

  it('evolves in worker threads too: rows with a new field go to the writer, in order', async () => {
    const input = Array.from({ length: 3000 }, (_, i) =>
      i < 1500
        ? { id: i, name: `n${i}` }
        : { id: i * 1_000_000, name: `n${i}`, late: i % 7 === 0 ? i : null },
    );
    const serial = await load(input, { createTable: true, inferRows: 100 }, false, 'serial', 500);
    const threaded = await load(input, { createTable: true, inferRows: 100 }, true, 'threads', 500);
    expect(threaded.report.status, JSON.stringify(threaded.report.error)).toBe('success');
    const rename = (f: ReturnType<typeof figures>) => JSON.stringify(f).replaceAll('threads', 'serial');
    expect(rename(figures(threaded.report))).toBe(rename(figures(serial.report)));
    expect(sinkOf(threaded.report).schemaChanges).toEqual([
      { change: 'column_added', column: 'late', type: 'bigint' },
    ]);
    const all = async (t: string) => rows(`SELECT id::text, name, late::text FROM $s.${t} ORDER BY ctid`);
    const want = await all('serial');
    expect(want).toHaveLength(3000);
    expect(want.filter((r) => r.late !== null)).toHaveLength(214);
    expect(await all('threads')).toEqual(want);
  });
});

describe('the namespace is dbSchema now', () => {
  it('refuses an old schema: <name> on the sink at with.schema, saying what to write', () => {
    const config = { url: TEST_DATABASE_URL, table: 'out', schema: 'analytics' };
    expect(new Registry().check(postgresSink, config, 'with')).toEqual([
      {
        path: 'with.schema',
        message:
          "`schema` is the schema contract (evolve, freeze, discard_row, discard_value); the table's " +
          'PostgreSQL schema is now `dbSchema: analytics`',
      },
    ]);
    expect(new Registry().check(postgresSink, { ...config, schema: 'freeze' }, 'with')).toEqual([]);
  });

  it('refuses schema on the source too', () => {
    const config = { url: TEST_DATABASE_URL, table: 'src', schema: 'analytics' };
    expect(new Registry().check(postgresSource, config, 'with')).toEqual([
      {
        path: 'with.schema',
        message: "`schema` was renamed: the table's PostgreSQL schema is now `dbSchema: analytics`",
      },
    ]);
  });
});
