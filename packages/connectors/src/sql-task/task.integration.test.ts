import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { taskConformance } from '../../test/conformance.ts';
import { sqlTask } from './task.ts';
import { sqlTaskCases } from './task-cases.ts';

const PG = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MYSQL = process.env.SLUICE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const suffix = randomBytes(4).toString('hex');
const schema = `h_sqlite_${suffix}`;
let n = 0;

const admin = new pg.Client({ connectionString: PG });
let my: mysql.Connection;

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  my = await mysql.createConnection({ uri: MYSQL });
});
afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
  const [tables] = await my.query('SHOW TABLES LIKE ?', [`h_sqlite_${suffix}%`]);
  for (const t of tables as Record<string, string>[]) await my.query(`DROP TABLE \`${Object.values(t)[0]}\``);
  await my.end();
});

sqlTaskCases('PostgreSQL', {
  url: () => PG,
  table: () => `${schema}.t${++n}`,
  async rows(table) {
    try {
      return (await admin.query({ text: `SELECT id, name FROM ${table} ORDER BY id`, rowMode: 'array' }))
        .rows as [number, string][];
    } catch {
      return undefined;
    }
  },
});

sqlTaskCases('MariaDB', {
  url: () => MYSQL,
  table: () => `h_sqlite_${suffix}_t${++n}`,
  async rows(table) {
    try {
      const [rows] = await my.query({ sql: `SELECT id, name FROM ${table} ORDER BY id`, rowsAsArray: true });
      return rows as [number, string][];
    } catch {
      return undefined;
    }
  },
});

const SECRET = 'h-sqlite-Passw0rd';

taskConformance('sql (PostgreSQL)', {
  def: sqlTask,
  badConfig: { url: PG, sql: 'SELECT 1', transaction: 'yes' },
  badPath: 'with.transaction',
  endless: { url: PG, sql: 'SELECT pg_sleep(60)' },
  secret: {
    secret: SECRET,
    config: () => ({ url: `postgres://postgres:${SECRET}@127.0.0.1:1/test`, sql: 'SELECT 1' }),
  },
});

taskConformance('sql (MariaDB)', {
  def: sqlTask,
  badConfig: { url: MYSQL, sql: 'SELECT 1', file: 'x.sql' },
  badPath: 'with.sql',
  endless: { url: MYSQL, sql: 'SELECT SLEEP(60)' },
  secret: {
    secret: SECRET,
    config: () => ({ url: `mysql://root:${SECRET}@127.0.0.1:1/test`, sql: 'SELECT 1' }),
  },
});

it('checks a connection as a credential test does: connects, says where, hides the password', async () => {
  const ctx = { signal: new AbortController().signal, stepId: 'test', baseDir: process.cwd() };
  await expect(sqlTask.connection!.check({ url: PG }, ctx)).resolves.toMatch(
    /^connected to PostgreSQL postgres:/,
  );
  await expect(sqlTask.connection!.check({ url: MYSQL }, ctx)).resolves.toMatch(/^connected to MySQL mysql:/);
  const err = await sqlTask
    .connection!.check({ url: `mysql://root:${SECRET}@127.0.0.1:1/test` }, ctx)
    .catch((e: Error) => e);
  expect((err as Error).message).toMatch(/cannot connect to MySQL at 127.0.0.1:1/);
  expect((err as Error).message).not.toContain(SECRET);
});
