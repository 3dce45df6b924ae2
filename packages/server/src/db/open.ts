import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { ErrorCode, FatalError } from '@sluice/core';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { lockDataDir } from './lock.ts';
import * as schema from './schema.ts';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The platform's database: PGlite in the data directory, or a PostgreSQL server. */
export interface Database {
  kind: 'pglite' | 'postgres';
  db: Db;
  /** Runs SQL with $1-style parameters; the escape hatch for pg-boss and maintenance. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  pglite?: PGlite;
  pool?: pg.Pool;
  url?: string;
  close(): Promise<void>;
}

/** Apart from `sluice run`'s `.sluice/runs`. */
export const DEFAULT_DATA_DIR = join('.sluice', 'platform');

export interface OpenOptions {
  /** Embedded database and files live here. @defaultValue DEFAULT_DATA_DIR */
  dataDir?: string;
  /** A PostgreSQL server (15 or newer) instead of the embedded database. */
  url?: string;
  /** Connections in the pool (server only). @defaultValue 10 */
  poolSize?: number;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.url) return openServer(opts.url, opts.poolSize ?? 10);
  const dir = resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
  const unlock = await lockDataDir(dir);
  try {
    const pglite = await PGlite.create(resolve(dir, 'db'));
    return {
      kind: 'pglite',
      db: drizzlePglite(pglite, { schema }) as unknown as Db,
      query: async <R>(sql: string, params?: unknown[]) => (await pglite.query<R>(sql, params)).rows,
      pglite,
      close: async () => {
        await pglite.close();
        await unlock();
      },
    };
  } catch (err) {
    await unlock();
    throw err;
  }
}

async function openServer(url: string, max: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'sluice' });
  pool.on('error', () => undefined); // an idle client dropped; the next query reconnects
  try {
    const c = await pool.connect();
    const v = await c.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
    c.release();
    if (v.rows[0]!.v < 150000) {
      throw new FatalError(`PostgreSQL ${v.rows[0]!.v} is too old: Sluice needs 15 or newer`, {
        code: ErrorCode.CONFIG,
      });
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof FatalError) throw err;
    const masked = url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
    throw new FatalError(`cannot connect to the database ${masked}: ${(err as Error).message}`, {
      code: ErrorCode.CONNECTION,
      cause: err,
    });
  }
  return {
    kind: 'postgres',
    db: drizzleNodePg(pool, { schema }) as unknown as Db,
    query: async <R>(sql: string, params?: unknown[]) => (await pool.query(sql, params)).rows as R[],
    pool,
    url,
    close: () => pool.end(),
  };
}
