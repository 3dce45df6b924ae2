import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { type Database, openDatabase } from '../../src/db/open.ts';
import { pgliteDataDir } from './pglite-template.ts';

export const SERVER_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated database and the data directory beside it. */
  open(): Promise<{ database: Database; dataDir: string; url?: string; dispose(): Promise<void> }>;
}

/** A new database on the local server for each call, dropped by `dispose`. */
async function freshServerDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sluice_t_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(SERVER_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: SERVER_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export const backends: Backend[] = [
  {
    name: 'pglite',
    open: async () => {
      const dataDir = await pgliteDataDir('sluice-pglite-');
      const database = await openDatabase({ dataDir });
      await migrate(database);
      return { database, dataDir, dispose: () => database.close() };
    },
  },
  {
    name: 'postgres',
    open: async () => {
      const server = await freshServerDatabase();
      const dataDir = mkdtempSync(join(tmpdir(), 'sluice-pg-'));
      const database = await openDatabase({ url: server.url, dataDir });
      await migrate(database);
      return {
        database,
        dataDir,
        url: server.url,
        dispose: async () => {
          await database.close();
          await server.drop();
        },
      };
    },
  },
];
