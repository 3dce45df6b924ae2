import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSink, readSource } from '../../test/harness.ts';
import { mysqlSink } from './sink.ts';
import { mysqlSource } from './source.ts';

const URL = process.env.SLUICE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const t = `hmysql_${randomBytes(4).toString('hex')}`;
let admin: mysql.Connection;

beforeAll(async () => {
  admin = await mysql.createConnection({ uri: URL });
});
afterAll(async () => {
  for (const x of [`${t}_types`, `${t}_copy`, `${t}_parts`, `${t}_ck`])
    await admin.query(`DROP TABLE IF EXISTS ${x}`);
  await admin.end();
});

describe('mysql types', () => {
  it('reads and writes every mapped type exactly', async () => {
    const cols =
      'id bigint unsigned primary key, d decimal(30,10), ts timestamp(6) null, dt datetime(3), doc json, bin blob';
    await admin.query(`CREATE TABLE ${t}_types (${cols})`);
    await admin.query(`CREATE TABLE ${t}_copy (${cols})`);
    await admin.query("SET time_zone = '+00:00'");
    await admin.query(
      `INSERT INTO ${t}_types VALUES (18446744073709551615, '12345678901234567890.0123456789', '2024-01-02 03:04:05.123456', '2024-05-06 07:08:09.5', '{"a":[1,"x"]}', X'00FF10')`,
    );
    const r = await readSource(mysqlSource, { url: URL, table: `${t}_types` });
    const row = {
      id: '18446744073709551615',
      d: '12345678901234567890.0123456789',
      ts: '2024-01-02T03:04:05.123456Z',
      dt: '2024-05-06T07:08:09.500Z',
      doc: { a: [1, 'x'] },
      bin: Buffer.from([0, 255, 16]).toString('base64'),
    };
    expect(r.rows).toEqual([row]);
    const { writer } = await openSink(mysqlSink, {
      url: URL,
      table: `${t}_copy`,
      checkpointTable: `${t}_ck`,
      verify: 'content',
    });
    await writer.start(undefined);
    await writer.write(r.rows);
    expect((await writer.close()).rowsWritten).toBe(1);
    const back = await readSource(mysqlSource, { url: URL, table: `${t}_copy` });
    expect(back.rows).toEqual([row]);
  });

  it('reads partitions in parallel and resumes each range', async () => {
    await admin.query(`CREATE TABLE ${t}_parts (id int primary key, v text)`);
    await admin.query(
      `INSERT INTO ${t}_parts VALUES ${Array.from({ length: 100 }, (_, i) => `(${i + 1}, 'v${i}')`).join(',')}`,
    );
    const cfg = { url: URL, table: `${t}_parts`, partitions: 4, batchSize: 10 };
    const first = await readSource(mysqlSource, cfg, { maxBatches: 3 });
    const rest = await readSource(mysqlSource, cfg, { resumeFrom: first.positions.at(-1)! });
    const ids = [...first.rows, ...rest.rows].map((r) => r.id as number).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });
});

describe('mysql sink modes and source state', () => {
  it('upserts by key (last row wins), then reads incrementally across two runs', async () => {
    const ck = `${t}_ck`;
    const tb = `${t}_up`;
    const cfg = {
      url: URL,
      table: tb,
      checkpointTable: ck,
      mode: 'upsert',
      key: ['id'],
      createTable: true,
      inferRows: 1,
    };
    const a = await openSink(mysqlSink, cfg);
    await a.writer.start(undefined);
    await a.writer.write([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
      { id: 1, v: 'c' },
    ]);
    await a.writer.close();
    const state = new Map();
    const first = await readSource(
      mysqlSource,
      { url: URL, table: tb, incremental: { column: 'id' } },
      { state },
    );
    expect(first.rows).toEqual([
      { id: 1, v: 'c' },
      { id: 2, v: 'b' },
    ]);
    await admin.query(`INSERT INTO ${tb} VALUES (3, 'd')`);
    const second = await readSource(
      mysqlSource,
      { url: URL, table: tb, incremental: { column: 'id' } },
      { state },
    );
    expect(second.rows).toEqual([{ id: 3, v: 'd' }]);
    await admin.query(`DROP TABLE ${tb}`);
  });

  it('says which part of the config is wrong, never the password', async () => {
    const fail = (url: string) =>
      readSource(mysqlSource, { url, table: 'x' }).then(
        () => '',
        (e: Error) => e.message,
      );
    const password = await fail('mysql://root:Secret9@127.0.0.1:3306/test');
    expect(password).toMatch(/refused user "root".*with\.url/);
    expect(password).not.toContain('Secret9');
    expect(await fail('mysql://root@127.0.0.1:3306/hmysql_nodb')).toMatch(
      /database "hmysql_nodb" does not exist.*with\.url/,
    );
    const missing = await readSource(mysqlSource, { url: URL, table: `${t}_none` }).catch((e: Error) => e);
    expect(String((missing as Error).message)).toMatch(/with\.table/);
  });
});

describe('mysql schema contracts and truncate', () => {
  it('evolve adds and widens columns; freeze refuses; truncate replaces the rows', async () => {
    const tb = `${t}_sc`;
    await admin.query(`CREATE TABLE ${tb} (id int primary key, v varchar(2))`);
    const cfg = { url: URL, table: tb, checkpointTable: `${t}_ck` };
    const frozen = await openSink(mysqlSink, { ...cfg, schema: 'freeze' });
    await frozen.writer.start(undefined);
    await expect(frozen.writer.write([{ id: 1, v: 'long' }])).rejects.toThrow(/freeze/);
    await frozen.writer.abort(new Error('refused'));
    const a = await openSink(mysqlSink, { ...cfg, schema: 'evolve' });
    await a.writer.start(undefined);
    await a.writer.write([{ id: 1, v: 'long', extra: 5 }]);
    const res = await a.writer.close();
    expect(res.schemaChanges?.map((c) => c.change).sort()).toEqual(['column_added', 'type_widened']);
    const b = await openSink(mysqlSink, { ...cfg, mode: 'truncate' });
    await b.writer.start(undefined);
    await b.writer.write([{ id: 2, v: 'x', extra: 6 }]);
    await b.writer.close();
    const [rows] = await admin.query(`SELECT id, v, extra FROM ${tb}`);
    expect(rows).toEqual([{ id: 2, v: 'x', extra: 6 }]);
    await admin.query(`DROP TABLE ${tb}`);
  });

  it('discard_row quarantines a row that does not fit, discard_value writes it without the value', async () => {
    const tb = `${t}_dc`;
    await admin.query(`CREATE TABLE ${tb} (id int primary key, v varchar(3))`);
    const cfg = { url: URL, table: tb, checkpointTable: `${t}_ck` };
    const rows = [
      { id: 1, v: 'ok' },
      { id: 2, v: 'too long' },
      { id: 3, v: 'abc', extra: 9 },
    ];
    const byRow = await openSink(mysqlSink, { ...cfg, schema: 'discard_row' });
    await byRow.writer.start(undefined);
    await byRow.writer.write(rows);
    const r1 = await byRow.writer.close();
    expect(r1.rowsWritten).toBe(1);
    expect(byRow.harness.quarantined.map((q) => q.row?.id).sort()).toEqual([2, 3]);
    expect(byRow.harness.quarantined.find((q) => q.row?.id === 2)!.reason).toMatch(/"v"/);
    expect((await admin.query(`SELECT id, v FROM ${tb} ORDER BY id`))[0]).toEqual([{ id: 1, v: 'ok' }]);

    await admin.query(`DELETE FROM ${tb}`);
    const byValue = await openSink(mysqlSink, { ...cfg, schema: 'discard_value' });
    await byValue.writer.start(undefined);
    await byValue.writer.write(rows);
    const r2 = await byValue.writer.close();
    expect(r2.rowsWritten).toBe(3);
    expect(byValue.harness.quarantined).toEqual([]);
    expect(r2.schemaChanges?.map((c) => [c.change, c.column])).toEqual(
      expect.arrayContaining([
        ['values_dropped', 'v'],
        ['values_dropped', 'extra'],
      ]),
    );
    expect((await admin.query(`SELECT id, v FROM ${tb} ORDER BY id`))[0]).toEqual([
      { id: 1, v: 'ok' },
      { id: 2, v: null },
      { id: 3, v: 'abc' },
    ]);
    await admin.query(`DROP TABLE ${tb}`);
  });
});
