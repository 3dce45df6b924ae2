import { randomBytes } from 'node:crypto';
import { type Json, planParts, RetryableError, type Row, resolvePlan } from '@sluice/core';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSink, sourceContext, validConfig } from '../../test/harness.ts';
import { createRegistry } from '../registry.ts';
import { mysqlSink } from './sink.ts';
import { type Config as MyConfig, mysqlSource } from './source.ts';

const URL = process.env.SLUICE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const t = `hparts_${randomBytes(4).toString('hex')}`;
let admin: mysql.Connection;

beforeAll(async () => {
  admin = await mysql.createConnection({ uri: URL });
});
afterAll(async () => {
  const [tables] = await admin.query<mysql.RowDataPacket[]>(
    'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ?',
    [`${t}%`],
  );
  for (const { name } of tables) await admin.query(`DROP TABLE ${name}`);
  await admin.end();
});

/** Reads one part (or the whole table), optionally from a position, up to `maxBatches`. */
async function readPart(
  config: Record<string, unknown>,
  part?: Json,
  resumeFrom?: Json,
  maxBatches?: number,
) {
  const { ctx } = sourceContext<MyConfig>(
    mysqlSource,
    config,
    resumeFrom === undefined ? {} : { resumeFrom },
  );
  const rows: Row[] = [];
  const positions: Json[] = [];
  for await (const b of mysqlSource.read({ ...ctx, ...(part === undefined ? {} : { part }) })) {
    rows.push(...b.rows);
    positions.push(b.position ?? null);
    if (positions.length === maxBatches) break;
  }
  return { rows, positions };
}

async function plan(config: Record<string, unknown>, n: number): Promise<Json[]> {
  const { ctx } = sourceContext<MyConfig>(mysqlSource, config);
  return mysqlSource.partitions!.plan(ctx, n);
}

const ids = (rows: Row[]) => rows.map((r) => String(r.id)).sort((a, b) => Number(a) - Number(b));

describe('mysql source partitions', () => {
  // Keys with gaps, negatives and a run of close ones: ranges of equal width hold unequal rows.
  const keys = [
    ...Array.from({ length: 50 }, (_, i) => -50 + i),
    ...Array.from({ length: 300 }, (_, i) => i * 3),
    ...Array.from({ length: 150 }, (_, i) => 5000 + i * i),
  ];
  const all = keys.map(String).sort((a, b) => Number(a) - Number(b));

  beforeAll(async () => {
    await admin.query(`CREATE TABLE ${t}_src (id bigint primary key, v varchar(20))`);
    await admin.query(`INSERT INTO ${t}_src VALUES ${keys.map((k) => `(${k}, 'v${k}')`).join(',')}`);
  });

  it('cuts a table into key ranges that read it together exactly once, each resumable', async () => {
    const config = { url: URL, table: `${t}_src`, batchSize: 13 };
    for (let n = 1; n <= 7; n++) {
      const parts = await plan(config, n);
      expect(parts).toHaveLength(n);
      expect(parts[0]).toEqual({ from: '-50', to: expect.any(String) });
      const read = [];
      for (const p of parts) read.push(...(await readPart(config, p)).rows);
      expect(ids(read)).toEqual(all);
    }
    const [, part] = await plan(config, 3);
    const whole = await readPart(config, part);
    expect(whole.rows.length).toBeGreaterThan(30);
    const head = await readPart(config, part, undefined, 2);
    const rest = await readPart(config, part, head.positions.at(-1)!);
    expect([...head.rows, ...rest.rows]).toEqual(whole.rows);
  });

  it('reads a part in with.partitions ranges at once, and resumes it', async () => {
    const config = { url: URL, table: `${t}_src`, batchSize: 7, partitions: 3 };
    const parts = await plan(config, 4);
    const read = [];
    for (const p of parts) {
      const head = await readPart(config, p, undefined, 3);
      const rest = await readPart(config, p, head.positions.at(-1)!);
      read.push(...head.rows, ...rest.rows);
    }
    expect(ids(read)).toEqual(all);
  });

  it('cuts through the registry with planParts; an empty table has no parts', async () => {
    await admin.query(`CREATE TABLE ${t}_empty (id int primary key)`);
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
                  { source: 'mysql', with: { url: URL, table } },
                  { sink: 'mysql', with: { url: URL, table: `${t}_out` } },
                ],
              },
            ],
          },
          { registry },
        ),
        { registry, stepId: 'load', count: 5, signal: new AbortController().signal },
      );
    expect(await cut(`${t}_src`)).toHaveLength(5);
    expect(await cut(`${t}_empty`)).toEqual([]);
  });

  it('refuses a query, incremental, and a table without one integer key', async () => {
    const check = (c: Record<string, unknown>) =>
      mysqlSource.partitions!.check!(validConfig(mysqlSource, { url: URL, ...c }));
    expect(check({ table: 'x' })).toBeUndefined();
    expect(check({ query: 'SELECT 1' })).toBe(
      'a query cannot be cut into key ranges; read a table (with.table) whose primary key is one integer column',
    );
    expect(check({ table: 'x', incremental: { column: 'id' } })).toBe(
      "incremental reads the rows after the last run's cursor in one ordered pass, which parts cannot share; " +
        "drop incremental, or the step's partitions",
    );
    await admin.query(`CREATE TABLE ${t}_text (k varchar(10) primary key)`);
    await expect(plan({ url: URL, table: `${t}_text` }, 3)).rejects.toThrow(
      /needs table .*_text to have a primary key of one integer column; its key k is varchar/,
    );
  });
});

describe('mysql sink partitions', () => {
  it('check refuses truncate, telling to empty the table in an earlier step', () => {
    const check = (mode: string) =>
      mysqlSink.partitions!.check!(validConfig(mysqlSink, { url: URL, table: 'orders', mode, key: ['id'] }));
    expect(check('append')).toBeUndefined();
    expect(check('upsert')).toBeUndefined();
    expect(check('truncate')).toBe(
      "mode: truncate would empty orders in every partition's first transaction, deleting what the other " +
        'partitions wrote; empty it in an earlier step (task: sql, TRUNCATE orders) and write here with mode: append',
    );
  });

  /** `n` writers (partitions, each its own checkpoint key) writing `rows(i)` at once. */
  async function partitionsWrite(config: Record<string, unknown>, n: number, rows: (i: number) => Row[]) {
    return Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const { writer } = await openSink(
          mysqlSink,
          { url: URL, checkpointTable: `${t}_ck`, ...config },
          { key: `job/p${i}` },
        );
        try {
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

  it('lets partitions create the same new table at once', async () => {
    for (const mode of ['append', 'upsert']) {
      const table = `${t}_new_${mode}`;
      const rows = (i: number) =>
        Array.from({ length: 20 }, (_, k) => ({ id: i * 100 + k, v: `p${i}`, n: k }));
      const done = await partitionsWrite(
        { table, mode, key: ['id'], createTable: true, inferRows: 5 },
        8,
        rows,
      );
      expect(done.map((d) => d.rowsWritten)).toEqual(Array(8).fill(20));
      const [[count]] = await admin.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`);
      expect(count!.n).toBe(160);
    }
    const [keys] = await admin.query<mysql.RowDataPacket[]>(`SELECT k FROM ${t}_ck WHERE k LIKE 'job/p%'`);
    expect(new Set(keys.map((r) => r.k)).size).toBe(16);
  });

  it('lets partitions add the same column at once, noted by the one that added it', async () => {
    const table = `${t}_evolve`;
    await admin.query(`CREATE TABLE ${table} (id bigint primary key, small int)`);
    const added = await partitionsWrite({ table }, 6, (i) => [{ id: i, small: 1, extra: `x${i}` }]);
    expect(added.filter((r) => r.schemaChanges?.some((c) => c.change === 'column_added'))).toHaveLength(1);
  });

  it('never narrows a column another partition widened meanwhile', async () => {
    const table = `${t}_widen`;
    await admin.query(`CREATE TABLE ${table} (id bigint primary key, small int)`);

    // B planned int → bigint from the table it read; A made it decimal meanwhile. B must not
    // change it back (a decimal(65,30) made bigint would lose A's value).
    const a = await openSink(mysqlSink, { url: URL, table, checkpointTable: `${t}_ck` }, { key: 'job/a' });
    const b = await openSink(mysqlSink, { url: URL, table, checkpointTable: `${t}_ck` }, { key: 'job/b' });
    await a.writer.start(undefined);
    await b.writer.start(undefined);
    await a.writer.write([{ id: 100, small: 1 }]);
    await b.writer.write([{ id: 101, small: 1 }]);
    await a.writer.commit({ seq: 1, position: 1 });
    await b.writer.commit({ seq: 1, position: 1 });
    await a.writer.write([{ id: 102, small: 2n ** 70n }]);
    await a.writer.close();
    await b.writer.write([{ id: 103, small: 2 ** 40 }]);
    await b.writer.close();
    const [[col]] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?',
      [table, 'small'],
    );
    expect(col!.t).toBe('decimal(65,30)');
    const [back] = await admin.query<mysql.RowDataPacket[]>(
      `SELECT id, CAST(small AS CHAR) AS s FROM ${table} WHERE id >= 102 ORDER BY id`,
    );
    expect(back.map((r) => [r.id, r.s.replace(/\.0+$/, '')])).toEqual([
      [102, (2n ** 70n).toString()],
      [103, String(2 ** 40)],
    ]);
  });

  it('rolls back and retries a partition whose pending rows meet a change, the change made once', async () => {
    const table = `${t}_midrun`;
    await admin.query(`CREATE TABLE ${table} (id bigint primary key)`);
    const w = await Promise.all(
      [0, 1, 2].map((i) =>
        openSink(mysqlSink, { url: URL, table, checkpointTable: `${t}_ck` }, { key: `job/m${i}` }),
      ),
    );
    for (const [i, { writer }] of w.entries()) {
      await writer.start(undefined);
      await writer.write([{ id: i }]);
    }
    // Each has a row pending when the new field comes: the first to change the table rolls back
    // and is retried; the others find the column there and go on.
    const outcomes = await Promise.allSettled(
      w.map(({ writer }, i) => writer.write([{ id: 10 + i, extra: 'e' }])),
    );
    const failed = outcomes.filter((o) => o.status === 'rejected');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const f of failed) expect((f as PromiseRejectedResult).reason).toBeInstanceOf(RetryableError);
    for (const [i, { writer }] of w.entries()) {
      if (outcomes[i]!.status === 'rejected') await writer.abort(new Error('retried'));
      else await writer.close();
    }
    const [cols] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
      [table],
    );
    expect(cols.map((r) => r.c).sort()).toEqual(['extra', 'id']);
  });
});
