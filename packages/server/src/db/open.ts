import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { ErrorCode, FatalError } from '@sluice/core';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { lockDataDir } from './lock.ts';
import { defaultFolder } from './migrate.ts';
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
    const dbDir = resolve(dir, 'db');
    if (!existsSync(join(dbDir, 'PG_VERSION'))) await initdbApart(dbDir);
    setFlagsFromString(WASM_FLAGS);
    const pglite = await PGlite.create(dbDir, {
      startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS],
    });
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

/**
 * Settings of the embedded PostgreSQL, on top of PGlite's own. `shared_buffers` is PostgreSQL's
 * default of 128 MB, which PGlite sets up inside its WASM memory at start: ~130 MB of the idle
 * server's resident memory before a query ran (measured: 300 MB for PGlite alone, 170 MB with 16
 * MB). The platform's tables are small and a page that is not in the buffers is one read from
 * the data directory, which the OS caches. No-op jobs through the in-process worker showed no
 * difference beyond the noise of a busy machine (bench/platform.ts's embedded run, 100 jobs, A/B:
 * 3.4–7.1 jobs/s and 194–243 ms of CPU per job with 16 MB, 4.4–5.4 and 209–245 with 128). A
 * platform that outgrows this belongs on a PostgreSQL server. `wal_buffers` would follow
 * shared_buffers down to 512 kB: kept at the 4 MB it had, so commits write WAL as before.
 */
const PGLITE_SETTINGS = ['-c', 'shared_buffers=16MB', '-c', 'wal_buffers=4MB'];

/**
 * PGlite's PostgreSQL is WebAssembly, which V8 compiles with its baseline compiler (Liftoff) and
 * then again with TurboFan for every function it finds hot. Measured on Node 20 over the platform's
 * database: Liftoff only, PGlite held 132 MB of RSS after start against 201 MB, started in 0.77 s
 * against 1.32 s, and ran 400 small transactions (insert, update, select, notify) in the same
 * ~0.5 s once warm; over 2,000 it used 3.1 s of CPU against 4.4 s, the difference being TurboFan's
 * compiles. The platform's throughput did not move beyond the noise (bench/platform.ts's embedded
 * run, 200 no-op `sql` jobs in the worker, A/B twice: 26.7 and 31.9 jobs/s against 29.3 and 31.8).
 * V8 reads the flag when a module is compiled, so it is set before PGlite starts. It holds for the
 * whole process, whose only WebAssembly is PGlite: steps run in processes of their own, and the
 * tasks a worker runs itself (`isolation: none`: notify, sql) load none.
 */
const WASM_FLAGS = '--liftoff-only';

/**
 * Creates the embedded database in `dbDir` in a process of its own, and applies the migrations
 * there. On a fresh directory PGlite runs initdb in a second WASM instance and copies its files
 * through a tarball in memory: the garbage this leaves (~450 MB of WASM memories and buffers)
 * held the first start of `sluice serve` at ~880 MB until V8 happened to collect it, minutes
 * later, and even collected it left the process ~140 MB larger than a restart on the same
 * directory (measured). Creating every table touches ~45 MB more of PGlite's WASM memory than
 * finding them made, and WASM memory never shrinks. A process that exits returns all of it;
 * opening the directory it made costs one more PGlite start (~1 s, more on a busy machine) on the
 * first start only. The caller's `migrate` then finds nothing to do (or finishes what a child
 * that died left).
 */
async function initdbApart(dbDir: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const modules = ['@electric-sql/pglite', 'drizzle-orm/pglite', 'drizzle-orm/pglite/migrator'].map((m) =>
    require.resolve(m),
  );
  const script =
    'const [pglite, drizzle, migrator, dir, migrationsFolder] = process.argv.slice(1);' +
    '(async () => { const db = await require(pglite).PGlite.create(dir);' +
    ' try { await require(migrator).migrate(require(drizzle).drizzle(db), { migrationsFolder }); }' +
    ' finally { await db.close(); } })()' +
    '.catch((e) => { console.error(e && e.stack ? e.stack : String(e)); process.exit(1); })';
  try {
    await promisify(execFile)(
      process.execPath,
      [WASM_FLAGS, '-e', script, ...modules, dbDir, defaultFolder()],
      {
        maxBuffer: 1 << 20,
      },
    );
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new FatalError(
      `could not create the embedded database in ${dbDir}: ${stderr || (err as Error).message}`,
      {
        code: ErrorCode.INTERNAL,
        cause: err,
      },
    );
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
