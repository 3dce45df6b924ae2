import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { postgresSink, postgresSource } from '../src/index.ts';
import { sinkConformance, sourceConformance } from './conformance.ts';
import type { SecretCase } from './conformance-checks.ts';
import { cliSinkConformance, cliSourceConformance } from './conformance-cli.ts';

const URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `conf_${randomBytes(5).toString('hex')}`;
const admin = new pg.Client({ connectionString: URL });
let tables = 0;

beforeAll(async () => {
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

const sample = [
  { id: 1, name: 'Ana', note: 'tab\there' },
  { id: 2, name: 'Bruno', note: 'back\\slash' },
  { id: 3, name: 'Cé', note: null },
  { id: 4, name: 'Dora', note: 'new\nline' },
];

const PG_SECRET = 'conformance-pg-Passw0rd';
/** A url carrying a password, to a port where nothing listens. */
const unreachablePg = (more: Record<string, unknown>): SecretCase => ({
  secret: PG_SECRET,
  config: () => ({ url: `postgres://postgres:${PG_SECRET}@127.0.0.1:1/test`, ...more }),
});

async function freshTable(): Promise<string> {
  const t = `t${++tables}`;
  await admin.query(`CREATE TABLE ${schema}.${t} (id bigint primary key, name text, note text)`);
  return t;
}

sourceConformance('postgres', {
  def: postgresSource,
  resumable: true,
  badConfig: { url: URL, batchSize: 0 },
  badPath: 'with.batchSize',
  secret: unreachablePg({ table: 't' }),
  sample,
  async setup(rows) {
    const t = await freshTable();
    for (const r of rows)
      await admin.query(`INSERT INTO ${schema}.${t} VALUES ($1, $2, $3)`, [r.id, r.name, r.note]);
    return { url: URL, dbSchema: schema, table: t, orderBy: ['id'] };
  },
});

sinkConformance('postgres', {
  def: postgresSink,
  badConfig: { url: URL, table: 't', mode: 'merge' },
  badPath: 'with.mode',
  resumable: true,
  secret: unreachablePg({ table: 't' }),
  sample,
  async setup() {
    return { url: URL, dbSchema: schema, table: await freshTable() };
  },
  async readBack(config) {
    const r = await admin.query(
      `SELECT id::int, name, note FROM ${schema}.${config.table as string} ORDER BY id`,
    );
    return r.rows;
  },
});

cliSourceConformance('postgres', 'postgres', {
  async input(rows) {
    const t = `cli${++tables}`;
    await admin.query(`CREATE TABLE ${schema}.${t} (id integer primary key, name text)`);
    await admin.query(`INSERT INTO ${schema}.${t} SELECT * FROM unnest($1::int[], $2::text[])`, [
      rows.map((r) => r.id),
      rows.map((r) => r.name),
    ]);
    return { url: URL, dbSchema: schema, table: t, orderBy: ['id'], batchSize: 50 };
  },
  secret: unreachablePg({ table: 't' }),
});

cliSinkConformance('postgres', 'postgres', {
  output: async () => ({
    url: URL,
    dbSchema: schema,
    checkpointSchema: schema,
    table: `cli${++tables}`,
    createTable: true,
  }),
  async readBack(config) {
    return (await admin.query(`SELECT id, name FROM ${schema}.${config.table as string}`)).rows;
  },
  verify: 'content',
  resumable: true,
  secret: unreachablePg({ table: 't' }),
});
