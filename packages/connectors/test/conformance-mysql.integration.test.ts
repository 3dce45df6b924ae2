import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll } from 'vitest';
import { mysqlSink, mysqlSource } from '../src/index.ts';
import { sinkConformance, sourceConformance } from './conformance.ts';
import type { SecretCase } from './conformance-checks.ts';
import { cliSinkConformance, cliSourceConformance } from './conformance-cli.ts';

const URL = process.env.SLUICE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const prefix = `hmysql_conf_${randomBytes(4).toString('hex')}`;
let admin: mysql.Connection;
const made: string[] = [];

beforeAll(async () => {
  admin = await mysql.createConnection({ uri: URL });
});
afterAll(async () => {
  for (const t of [...made, `${prefix}_ckpt`]) await admin.query(`DROP TABLE IF EXISTS \`${t}\``);
  await admin.end();
});

const sample = [
  { id: 1, name: 'Ana', note: 'tab\there' },
  { id: 2, name: 'Bruno', note: 'back\\slash' },
  { id: 3, name: 'Cé', note: null },
  { id: 4, name: 'Dora', note: 'new\nline' },
];

const SECRET = 'conformance-my-Passw0rd';
/** A url carrying a password, to a port where nothing listens. */
const unreachable = (more: Record<string, unknown>): SecretCase => ({
  secret: SECRET,
  config: () => ({ url: `mysql://root:${SECRET}@127.0.0.1:1/test`, ...more }),
});

async function freshTable(columns = 'id bigint primary key, name text, note text'): Promise<string> {
  const t = `${prefix}_${made.length + 1}`;
  made.push(t);
  await admin.query(`CREATE TABLE \`${t}\` (${columns}) DEFAULT CHARSET = utf8mb4`);
  return t;
}

sourceConformance('mysql', {
  def: mysqlSource,
  resumable: true,
  badConfig: { url: URL, table: 't', batchSize: 0 },
  badPath: 'with.batchSize',
  secret: unreachable({ table: 't' }),
  sample,
  async setup(rows) {
    const t = await freshTable();
    for (const r of rows) await admin.query(`INSERT INTO \`${t}\` VALUES (?, ?, ?)`, [r.id, r.name, r.note]);
    return { url: URL, table: t, orderBy: ['id'] };
  },
});

sinkConformance('mysql', {
  def: mysqlSink,
  badConfig: { url: URL, table: 't', mode: 'merge' },
  badPath: 'with.mode',
  resumable: true,
  secret: unreachable({ table: 't' }),
  sample,
  async setup() {
    return { url: URL, table: await freshTable(), checkpointTable: `${prefix}_ckpt` };
  },
  async readBack(config) {
    const [rows] = await admin.query(`SELECT id, name, note FROM \`${config.table as string}\` ORDER BY id`);
    return (rows as { id: number }[]).map((r) => ({ ...r, id: Number(r.id) }));
  },
});

cliSourceConformance('mysql', 'mysql', {
  async input(rows) {
    const t = await freshTable('id int primary key, name text');
    const values = rows.map((r) => [r.id, r.name]);
    for (let i = 0; i < values.length; i += 1000)
      await admin.query(`INSERT INTO \`${t}\` (id, name) VALUES ?`, [values.slice(i, i + 1000)]);
    return { url: URL, table: t, orderBy: ['id'], batchSize: 50 };
  },
  secret: unreachable({ table: 't' }),
});

// The same kill and resume with the table read in key ranges by parallel connections: each range
// resumes from its own position.
cliSourceConformance('mysql partitions', 'mysql', {
  async input(rows) {
    const t = await freshTable('id int primary key, name text');
    const values = rows.map((r) => [r.id, r.name]);
    for (let i = 0; i < values.length; i += 1000)
      await admin.query(`INSERT INTO \`${t}\` (id, name) VALUES ?`, [values.slice(i, i + 1000)]);
    return { url: URL, table: t, partitions: 3, batchSize: 50 };
  },
  secret: unreachable({ table: 't', partitions: 3 }),
});

cliSinkConformance('mysql', 'mysql', {
  output: async () => {
    const t = `${prefix}_cli${made.length + 1}`;
    made.push(t);
    return { url: URL, table: t, createTable: true, checkpointTable: `${prefix}_ckpt` };
  },
  async readBack(config) {
    const [rows] = await admin.query(`SELECT id, name FROM \`${config.table as string}\``);
    return rows as { id: number }[];
  },
  verify: 'content',
  resumable: true,
  secret: unreachable({ table: 't' }),
});
