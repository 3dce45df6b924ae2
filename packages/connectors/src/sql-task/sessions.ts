import { Type } from '@sinclair/typebox';
import { type ConnectionCheck, ErrorCode, FatalError, type TaskContext } from '@sluice/core';
import { connect as connectMysql, myError } from '../mysql/conn.ts';
import { connect, maskUrl, pgError } from '../postgres/conn.ts';
import { openDatabase, sqliteError, toSqlite } from '../sqlite/db.ts';
import type { Dialect } from './split.ts';

/**
 * One database session of the sql task: a few methods over each engine's client (STYLE rule 6).
 * `run` resolves to the rows the statement changed (or returned, for a query); every method throws
 * SluiceErrors that say where, with no password in them.
 */
export interface SqlSession {
  readonly dialect: Dialect;
  /** Where it is connected, for messages: the url without its password, or the file. */
  readonly target: string;
  run(sql: string, values: unknown[]): Promise<number>;
  /** Stops the running statement from outside (best effort); the failed `run` then reports it. */
  cancel(): Promise<void>;
  close(): Promise<void>;
}

/** Which engine a url is for: postgres://, mysql:// (or mariadb://), sqlite:path. */
export function dialectOf(url: string): Dialect | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  if (scheme === 'mysql' || scheme === 'mariadb') return 'mysql';
  if (scheme === 'sqlite') return 'sqlite';
  return undefined;
}

/** `sqlite:data/app.db` → `data/app.db`; `sqlite:///var/app.db` → `/var/app.db`. */
export function sqlitePath(url: string): string {
  const rest = url.slice('sqlite:'.length);
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

/** What opening a session needs of a task's context (or of a connection check's). */
type Ctx = Pick<TaskContext<unknown>, 'workDir' | 'stepId' | 'paths' | 'guardConnect' | 'network'> & {
  log?: TaskContext<unknown>['log'];
};

export async function openSession(ctx: Ctx, url: string, where: string): Promise<SqlSession> {
  const dialect = dialectOf(url);
  switch (dialect) {
    case 'postgres':
      return postgresSession(ctx, url, where);
    case 'mysql':
      return mysqlSession(ctx, url, where);
    case 'sqlite':
      return sqliteSession(ctx, url, where);
    default:
      throw new FatalError(
        `${where}: url ${maskUrl(url)} names no database this task knows: use postgres://…, mysql://… (MariaDB ` +
          'too) or sqlite:path/to/file.db',
        { code: ErrorCode.CONFIG },
      );
  }
}

async function postgresSession(ctx: Ctx, url: string, where: string): Promise<SqlSession> {
  const conn = await connect(url, {
    where,
    guard: ctx.guardConnect,
    net: ctx,
    onError: (err) => ctx.log?.warn(`connection to PostgreSQL lost: ${err.message}`),
  });
  const target = `PostgreSQL ${conn.target.url}`;
  return {
    dialect: 'postgres',
    target,
    async run(sql, values) {
      try {
        const res = await conn.client.query(sql, values);
        // A script's COPY or SET reports no count; SELECTs count their rows.
        return res.rowCount ?? 0;
      } catch (err) {
        throw pgError(err, where, conn.target, 'run the statement');
      }
    },
    cancel: () => conn.cancel(),
    close: () => conn.client.end().catch(() => undefined),
  };
}

/** mysql2 binds scalars, Dates and Buffers; other objects go as their JSON text, undefined as NULL. */
function mysqlValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (v === null || typeof v !== 'object' || v instanceof Date || Buffer.isBuffer(v)) return v;
  return JSON.stringify(v);
}

async function mysqlSession(ctx: Ctx, url: string, where: string): Promise<SqlSession> {
  // The mysql connectors' session: the same url rules, network policy, errors and KILL QUERY.
  const c = await connectMysql(url, {
    where,
    guard: ctx.guardConnect,
    net: ctx,
    onError: (err) => ctx.log?.warn(`connection to MySQL lost: ${err.message}`),
  });
  // Bound statements are prepared on the server (execute): the values never enter the SQL. Others
  // go as plain queries, as some statements (CREATE PROCEDURE) cannot be prepared.
  const execute = (sql: string, values: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      c.conn.execute(sql, values.map(mysqlValue) as never[], (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
  return {
    dialect: 'mysql',
    target: `MySQL ${c.target.url}`,
    async run(sql, values) {
      try {
        const res = values.length > 0 ? await execute(sql, values) : await c.query(sql);
        return Array.isArray(res) ? res.length : ((res as { affectedRows?: number }).affectedRows ?? 0);
      } catch (err) {
        throw myError(err, where, c.target, 'run the statement');
      }
    },
    cancel: () => c.cancel(),
    close: () => c.end(),
  };
}

async function sqliteSession(ctx: Ctx, url: string, where: string): Promise<SqlSession> {
  // Relative to the task's directory, under the run's path policy, as every local path.
  const { db, file } = await openDatabase(
    { stepId: ctx.stepId, paths: ctx.paths, baseDir: ctx.workDir },
    sqlitePath(url),
    {
      create: true,
      where: `${where}: config.url`,
    },
  );
  return {
    dialect: 'sqlite',
    target: `SQLite ${file}`,
    async run(sql, values) {
      try {
        const stmt = db.prepare(sql);
        const bound = values.map((v) => toSqlite(v));
        return stmt.reader ? stmt.all(...bound).length : stmt.run(...bound).changes;
      } catch (err) {
        throw sqliteError(err, where, file, 'run the statement');
      }
    },
    // A statement runs synchronously: the task checks for a cancel between statements.
    cancel: async () => undefined,
    async close() {
      if (db.open) db.close();
    },
  };
}

/** The sql task's connection check (a credential's Test): connects, runs SELECT 1, says where. */
export const sqlConnection = {
  config: Type.Object({ url: Type.String({ minLength: 1 }) }),
  async check(config: { url: string }, ctx) {
    const session = await openSession({ ...ctx, workDir: ctx.baseDir }, config.url, ctx.stepId);
    try {
      ctx.signal.throwIfAborted();
      await session.run('SELECT 1', []);
      return `connected to ${session.target}`;
    } finally {
      await session.close();
    }
  },
} satisfies ConnectionCheck;
