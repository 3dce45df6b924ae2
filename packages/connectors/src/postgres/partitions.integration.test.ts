import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Json, planParts, type Row, resolvePlan, runPipeline } from '@sluice/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSink, sourceContext, validConfig } from '../../test/harness.ts';
import { createRegistry } from '../registry.ts';
import { postgresSink } from './sink.ts';
import { type Config as PgConfig, postgresSource } from './source.ts';

const URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `tparts_${randomBytes(5).toString('hex')}`;
let admin: pg.Client;
let dir: string;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  dir = await mkdtemp(join(tmpdir(), 'sluice-pg-parts-'));
});
afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
  await rm(dir, { recursive: true, force: true });
});

const source = (c: Record<string, unknown>) => ({ url: URL, dbSchema: schema, ...c });

async function readPart(
  config: Record<string, unknown>,
  part?: Json,
  resumeFrom?: Json,
  maxBatches?: number,
) {
  const { ctx } = sourceContext<PgConfig>(
    postgresSource,
    config,
    resumeFrom === undefined ? {} : { resumeFrom },
  );
  const rows: Row[] = [];
  const positions: Json[] = [];
  for await (const b of postgresSource.read({ ...ctx, ...(part === undefined ? {} : { part }) })) {
    rows.push(...b.rows);
    positions.push(b.position ?? null);
    if (positions.length === maxBatches) break;
  }
  return { rows, positions };
}

async function plan(config: Record<string, unknown>, n: number): Promise<Json[]> {
  const { ctx } = sourceContext<PgConfig>(postgresSource, config);
  return postgresSource.partitions!.plan(ctx, n);
}

describe('postgres source partitions', () => {
  const keys = [
    ...Array.from({ length: 50 }, (_, i) => -50 + i),
    ...Array.from({ length: 300 }, (_, i) => i * 3),
    ...Array.from({ length: 150 }, (_, i) => 5000 + i * i),
    // Past 2^53: keys travel as text.
    '9007199254740993',
    '9223372036854775807',
  ];
  const all = keys.map(String).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  const sortedIds = (rows: Row[]) =>
    rows.map((r) => String(r.id)).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));

  beforeAll(async () => {
    await admin.query(`CREATE TABLE ${schema}.src (id bigint primary key, v text)`);
    await admin.query(`INSERT INTO ${schema}.src SELECT k::bigint, 'v' || k FROM unnest($1::text[]) k`, [
      keys.map(String),
    ]);
  });

  it('cuts a table into key ranges that read it together exactly once, each resumable', async () => {
    const config = source({ table: 'src', batchSize: 13 });
    for (let n = 1; n <= 7; n++) {
      const parts = await plan(config, n);
      expect(parts).toHaveLength(n);
      expect(parts.at(-1)).toEqual({ from: expect.any(String), to: '9223372036854775807' });
      const read = [];
      for (const p of parts) read.push(...(await readPart(config, p)).rows);
      expect(sortedIds(read)).toEqual(all);
    }
    // The widest ranges hold few keys: the first part of three holds most of them.
    const [part] = await plan(config, 3);
    const whole = await readPart(config, part);
    expect(whole.rows.length).toBeGreaterThan(30);
    const head = await readPart(config, part, undefined, 2);
    expect(head.positions.at(-1)).toEqual({ after: String(head.rows.at(-1)!.id), rows: 26 });
    const rest = await readPart(config, part, head.positions.at(-1)!);
    expect([...head.rows, ...rest.rows]).toEqual(whole.rows);
  });

  it('cuts through the registry with planParts; an empty table has no parts', async () => {
    await admin.query(`CREATE TABLE ${schema}.empty (id int primary key)`);
    const registry = createRegistry();
    const cut = (table: string) =>
      planParts(
        resolvePlan(
          {
            name: 'parts',
            steps: [
              {
                id: 'load',
                flow: [
                  { source: 'postgres', with: source({ table }) },
                  { sink: 'postgres', with: { url: URL, dbSchema: schema, table: 'out' } },
                ],
              },
            ],
          },
          { registry },
        ),
        { registry, stepId: 'load', count: 5, signal: new AbortController().signal },
      );
    expect(await cut('src')).toHaveLength(5);
    expect(await cut('empty')).toEqual([]);
  });

  it('refuses a query, incremental, and a table without one integer key', async () => {
    const check = (c: Record<string, unknown>) =>
      postgresSource.partitions!.check!(validConfig(postgresSource, source(c)));
    expect(check({ table: 'x' })).toBeUndefined();
    expect(check({ query: 'SELECT 1' })).toBe(
      'a query cannot be cut into key ranges; read a table (with.table) whose primary key is one integer column',
    );
    expect(check({ table: 'x', incremental: { column: 'id' } })).toBe(
      "incremental reads the rows after the last run's cursor in one ordered pass, which parts cannot share; " +
        "drop incremental, or the step's partitions",
    );
    await admin.query(`CREATE TABLE ${schema}.texts (k text primary key)`);
    await admin.query(`CREATE TABLE ${schema}.pair (a int, b int, primary key (a, b))`);
    await expect(plan(source({ table: 'texts' }), 3)).rejects.toThrow(
      /primary key of one integer column; its key k is text/,
    );
    await expect(plan(source({ table: 'pair' }), 3)).rejects.toThrow(/its key has 2 columns \(a, b\)/);
    await expect(plan(source({ table: 'src', columns: ['v'] }), 3)).rejects.toThrow(
      /with\.columns must include the primary key id/,
    );
    await expect(plan(source({ table: 'nope' }), 3)).rejects.toThrow(/table .*\.nope does not exist/);
  });
});

describe('postgres sink partitions', () => {
  it('check refuses truncate, telling to empty the table in an earlier step', () => {
    const check = (mode: string) =>
      postgresSink.partitions!.check!(
        validConfig(postgresSink, { url: URL, table: 'orders', mode, key: ['id'] }),
      );
    expect(check('append')).toBeUndefined();
    expect(check('upsert')).toBeUndefined();
    expect(check('truncate')).toBe(
      "mode: truncate would empty public.orders in every partition's first transaction, deleting what the other " +
        'partitions wrote; empty it in an earlier step (task: sql, TRUNCATE public.orders) and write here with mode: append',
    );
  });

  /** `n` writers (partitions, each its own checkpoint key) writing `rows(i)` at once. */
  async function partitionsWrite(config: Record<string, unknown>, n: number, rows: (i: number) => Row[]) {
    return Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const { writer } = await openSink(
          postgresSink,
          { url: URL, dbSchema: schema, checkpointSchema: `${schema}_ck`, ...config },
          { key: `job/p${i}` },
        );
        try {
          await writer.recover?.();
          await writer.start(undefined);
          await writer.write(rows(i));
          await writer.commit({ seq: 1, position: { part: i } });
          return await writer.close();
        } catch (err) {
          await writer.abort(err);
          throw err;
        }
      }),
    );
  }

  it('lets partitions create the same new table (and the checkpoint schema) at once', async () => {
    try {
      for (const mode of ['append', 'upsert']) {
        const table = `new_${mode}`;
        const rows = (i: number) =>
          Array.from({ length: 20 }, (_, k) => ({ id: i * 100 + k, v: `p${i}`, n: k }));
        const done = await partitionsWrite(
          { table, mode, key: ['id'], createTable: true, inferRows: 5 },
          8,
          rows,
        );
        expect(done.map((d) => d.rowsWritten)).toEqual(Array(8).fill(20));
        const { rows: count } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.${table}`);
        expect(count[0].n).toBe(160);
      }
      const { rows: keys } = await admin.query(`SELECT key FROM ${schema}_ck.checkpoints`);
      expect(new Set(keys.map((r) => r.key)).size).toBe(16);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema}_ck CASCADE`);
    }
  });

  it('lets partitions add the same column at once, staged (upsert) or not', async () => {
    for (const mode of ['append', 'upsert']) {
      const table = `evolve_${mode}`;
      await admin.query(`CREATE TABLE ${schema}.${table} (id bigint primary key, small integer)`);
      const done = await partitionsWrite({ table, mode, key: ['id'] }, 6, (i) => [
        { id: i, small: 1, extra: `x${i}` },
      ]);
      expect(done.filter((r) => r.schemaChanges?.some((c) => c.change === 'column_added'))).toHaveLength(1);
      const { rows } = await admin.query(`SELECT count(extra)::int AS n FROM ${schema}.${table}`);
      expect(rows[0].n).toBe(6);
    }
  });

  it('never narrows a column another partition widened meanwhile', async () => {
    await admin.query(`CREATE TABLE ${schema}.widen (id bigint primary key, small integer)`);
    const open = (key: string) =>
      openSink(
        postgresSink,
        { url: URL, dbSchema: schema, checkpointSchema: schema, table: 'widen' },
        { key },
      );
    const a = await open('job/a');
    const b = await open('job/b');
    await a.writer.start(undefined);
    await b.writer.start(undefined);
    await a.writer.write([{ id: 100, small: 1 }]);
    await b.writer.write([{ id: 101, small: 1 }]);
    await a.writer.commit({ seq: 1, position: 1 });
    await b.writer.commit({ seq: 1, position: 1 });
    await a.writer.write([{ id: 102, small: 2n ** 70n }]);
    await a.writer.close();
    // b read the column as integer: it would widen it to bigint, which cannot hold a's value.
    await b.writer.write([{ id: 103, small: 2 ** 40 }]);
    await b.writer.close();
    const { rows } = await admin.query(
      `SELECT id::int, small::text FROM ${schema}.widen WHERE id >= 102 ORDER BY id`,
    );
    expect(rows).toEqual([
      { id: 102, small: (2n ** 70n).toString() },
      { id: 103, small: String(2 ** 40) },
    ]);
  });
});

describe('a partitioned csv → postgres flow', () => {
  it('writes every row once when the parts run at once, as the platform runs them', async () => {
    const lines = ['id,name,note,amount'];
    for (let i = 1; i <= 3000; i++)
      lines.push(
        i % 101 === 0
          ? `${i},short`
          : i % 7 === 0
            ? `${i},"multi\nline","q ""x""",${i}`
            : `${i},n${i},plain,${i}`,
      );
    await writeFile(join(dir, 'in.csv'), `${lines.join('\r\n')}\r\n`);
    const spec = (table: string) => ({
      name: 'parts',
      steps: [
        {
          id: 'load',
          checkpointEvery: 250,
          flow: [
            {
              source: 'csv',
              with: { path: 'in.csv', batchSize: 100, schema: { id: 'integer', amount: 'integer' } },
            },
            {
              sink: 'postgres',
              with: {
                url: URL,
                dbSchema: schema,
                checkpointSchema: schema,
                table,
                createTable: true,
                inferRows: 50,
              },
            },
          ],
        },
      ],
    });
    const registry = createRegistry();
    const whole = await runPipeline(spec('whole'), {
      registry,
      baseDir: dir,
      stateDir: join(dir, 'whole'),
      parallel: false,
    });
    expect(whole.status).toBe('success');
    const parts = await planParts(resolvePlan(spec('parted'), { registry }), {
      registry,
      stepId: 'load',
      count: 6,
      baseDir: dir,
      signal: new AbortController().signal,
    });
    expect(parts).toHaveLength(6);
    const reports = await Promise.all(
      parts.map((part, i) =>
        runPipeline(spec('parted'), {
          registry,
          baseDir: dir,
          stateDir: join(dir, `p${i}`),
          steps: ['load'],
          runKey: `parts#job/p${i}`,
          part,
          parallel: false,
        }),
      ),
    );
    for (const r of reports) expect(r.status).toBe('success');
    const sum = (k: 'rowsWritten' | 'rowsQuarantined') =>
      reports.reduce((n, r) => n + r.steps.find((s) => s.id === 'load')![k], 0);
    const w = whole.steps.find((s) => s.id === 'load')!;
    expect(sum('rowsWritten')).toBe(w.rowsWritten);
    expect(sum('rowsQuarantined')).toBe(w.rowsQuarantined);
    const table = async (t: string) =>
      (await admin.query(`SELECT id, name, note, amount FROM ${schema}.${t} ORDER BY id`)).rows;
    expect(await table('parted')).toEqual(await table('whole'));
    expect((await table('parted')).length).toBe(3000 - 29);
    // The same entries, at the same absolute lines of the same file.
    const entries = async (path: string | null) =>
      path === null
        ? []
        : (await readFile(path, 'utf8'))
            .trim()
            .split('\n')
            .map((l) => {
              const { line, offset, raw, reason, file } = JSON.parse(l);
              return JSON.stringify({ line, offset, raw, reason, file });
            });
    const parted = (await Promise.all(reports.map((r) => entries(r.quarantine.path)))).flat().sort();
    expect(parted).toEqual((await entries(whole.quarantine.path)).sort());
    expect(parted).toHaveLength(29);
  });
});
