import { Type } from '@sinclair/typebox';
import {
  type ConnectionCheck,
  checkHost,
  ErrorCode,
  FatalError,
  type NetContext,
  RetryableError,
  type SluiceError,
} from '@sluice/core';
import type mysql from 'mysql2';
import { maskUrl, NODE_REASON, serviceUrl } from '../shared/db-url.ts';

/** Where a connection goes, for messages: never includes the password. */
export interface MyTarget {
  /** `host:port`. */
  address: string;
  database: string;
  user: string;
  /** The url with its password replaced by `***`. */
  url: string;
}

export interface MyConnection {
  conn: mysql.Connection;
  target: MyTarget;
  /** Runs one statement; rejects with the driver's error (see myError). */
  query<T = unknown>(sql: string, params?: unknown[], options?: Partial<mysql.QueryOptions>): Promise<T>;
  /**
   * Stops the running statement from a second, short-lived session (`KILL QUERY`): closing the
   * socket alone leaves the server working on a long statement.
   */
  cancel(): Promise<void>;
  /** Closes the session; never throws. */
  end(): Promise<void>;
  /** Drops the socket at once (a half-read result cannot be ended politely). */
  destroy(): void;
}

export interface ConnectOptions {
  /** Prefix of every message: the component that connects (`ctx.componentId`). */
  where: string;
  /** The component's circuit breaker (`ctx.guardConnect`), keyed `host:port`. */
  guard?: (<T>(endpoint: string, connect: () => Promise<T>) => Promise<T>) | undefined;
  /** Called for errors on an idle connection (the server went away). */
  onError?: (err: Error) => void;
  /** The run's network policy: the host is checked before connecting. */
  net?: NetContext | undefined;
}

let module: typeof mysql | undefined;

/** mysql2, loaded on first use: flows without MySQL never pay for loading it. */
async function loadMysql(): Promise<typeof mysql> {
  module ??= ((await import('mysql2')) as unknown as { default: typeof mysql }).default;
  return module;
}

/** `2024-01-02 03:04:05.123456` (the session is UTC) → `2024-01-02T03:04:05.123456Z`. */
export function isoUtc(s: string): string {
  // Zero dates (0000-00-00) are no instant: they stay as MySQL prints them.
  return s.startsWith('0000') ? s : `${s.slice(0, 10)}T${s.slice(11)}Z`;
}

type Field = Parameters<Exclude<mysql.TypeCast, boolean>>[0];

/**
 * How values arrive: DECIMAL as its exact text; BIGINT a number when it is a safe integer, else
 * exact text (unsigned ones too; supportBigNumbers); DATETIME and TIMESTAMP as ISO strings in UTC
 * (the session's time zone is UTC, so a DATETIME's wall time is read as UTC); DATE as
 * `YYYY-MM-DD`; JSON parsed (MySQL's JSON type and MariaDB's json columns, which its extended
 * metadata marks); binary strings and BLOBs as base64 text.
 */
export function typeCast(field: Field, next: () => unknown): unknown {
  switch (field.type) {
    case 'DATETIME':
    case 'DATETIME2':
    case 'TIMESTAMP':
    case 'TIMESTAMP2': {
      const s = field.string();
      return s === null ? null : isoUtc(s);
    }
    case 'JSON': {
      const s = field.string('utf8');
      return s === null ? null : JSON.parse(s);
    }
    case 'BLOB':
    case 'TINY_BLOB':
    case 'MEDIUM_BLOB':
    case 'LONG_BLOB':
    case 'STRING':
    case 'VAR_STRING':
    case 'GEOMETRY': {
      const v = next();
      if (Buffer.isBuffer(v)) return v.toString('base64');
      if (field.extendedFormat === 'json' && typeof v === 'string') return JSON.parse(v);
      return v;
    }
    default:
      return next();
  }
}

/** Host, port, user, password and database of a mysql:// (or mariadb://) url. */
export function parseUrl(url: string, where: string): mysql.ConnectionOptions & { database: string } {
  const u = serviceUrl(url, where, ['mysql', 'mariadb'], 'mysql://user:password@host:3306/database');
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database,
  };
}

/** The host a url connects to; undefined when it is not a mysql:// url. */
export function myHost(url: string): string | undefined {
  try {
    return parseUrl(url, '').host;
  } catch {
    return undefined;
  }
}

/** Opens one session in UTC with Sluice's type casts; failures become actionable SluiceErrors. */
export async function connect(url: string, opts: ConnectOptions): Promise<MyConnection> {
  const my = await loadMysql();
  const options = parseUrl(url, opts.where);
  const target: MyTarget = {
    address: `${options.host}:${options.port}`,
    database: options.database,
    user: options.user ?? '',
    url: maskUrl(url),
  };
  const base: mysql.ConnectionOptions = {
    ...options,
    charset: 'utf8mb4',
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: false,
    connectTimeout: 15_000,
    typeCast: typeCast as mysql.TypeCast,
  };
  const conn = my.createConnection(base);
  conn.on('error', (err) => opts.onError?.(err));
  const query = <T>(sql: string, params?: unknown[], more?: Partial<mysql.QueryOptions>): Promise<T> =>
    new Promise((resolve, reject) => {
      conn.query({ sql, values: params, ...more }, (err, res) => (err ? reject(err) : resolve(res as T)));
    });
  const open = async (): Promise<void> => {
    // mysql2 resolves the host again when it connects, so a DNS answer that changes in between is
    // not checked: residual risk, see core's net-check.ts.
    await checkHost(opts.net ?? {}, options.host ?? '127.0.0.1', `${opts.where} url`);
    try {
      await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
      // UTC: TIMESTAMP values convert to and from UTC, and DATETIME is read and written as UTC.
      await query("SET time_zone = '+00:00'");
    } catch (err) {
      conn.destroy();
      throw myError(err, opts.where, target, 'connect');
    }
  };
  await (opts.guard ? opts.guard(target.address, open) : open());
  const id = conn.threadId;
  const cancel = async (): Promise<void> => {
    const other = my.createConnection({ ...options, connectTimeout: 5000 });
    other.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      other.query(`KILL QUERY ${Number(id)}`, () => {
        other.destroy();
        resolve();
      });
    });
  };
  let closed = false;
  const destroy = (): void => {
    closed = true;
    conn.destroy();
  };
  const end = (): Promise<void> =>
    new Promise((resolve) => {
      if (closed) return resolve();
      closed = true;
      const timer = setTimeout(() => {
        conn.destroy();
        resolve();
      }, 2000);
      conn.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  return { conn, target, query, cancel, end, destroy };
}

interface MyErrorFields {
  code?: string;
  errno?: number;
  sqlMessage?: string;
  fatal?: boolean;
}

/** Server errors a retry can fix: the connection or the transaction failed, not the request. */
const RETRYABLE = new Set([
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'PROTOCOL_CONNECTION_LOST',
  'ER_TOO_MANY_USER_CONNECTIONS',
]);

/**
 * Turns an error from mysql2 into a SluiceError saying where (component, server, database, the
 * config's JSON path at fault), what went wrong and what to check; never the password.
 */
export function myError(err: unknown, where: string, target: MyTarget, doing = 'run a query'): SluiceError {
  const e = (err instanceof Error ? err : new Error(String(err))) as Error & MyErrorFields;
  const code = e.code ?? '';
  const at = `${where}: `;
  const server = `MySQL at ${target.address}`;
  const msg = e.sqlMessage ?? e.message;
  if (NODE_REASON[code] !== undefined || code === 'PROTOCOL_CONNECTION_LOST' || /timeout/i.test(code)) {
    const reason =
      NODE_REASON[code] ?? 'the connection was closed — the server may have restarted or timed out';
    const what = doing === 'connect' ? `cannot connect to ${server}` : `lost the connection to ${server}`;
    const text = `${at}${what} (with.url ${target.url}): ${reason}`;
    return code === 'ENOTFOUND' || code === 'ENETUNREACH'
      ? new FatalError(text, { code: ErrorCode.CONNECTION, cause: err })
      : new RetryableError(text, { cause: err });
  }
  if (RETRYABLE.has(code))
    return new RetryableError(`${at}${server} failed to ${doing}: ${msg}`, { cause: err });
  switch (code) {
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
    case 'ER_NOT_SUPPORTED_AUTH_MODE':
      return new FatalError(
        `${at}${server} refused user "${target.user}" — check the user and password in with.url ` +
          `(${target.url}) or the credential, and that the user may connect from this host`,
        { code: ErrorCode.CONNECTION, cause: err },
      );
    case 'ER_BAD_DB_ERROR':
      return new FatalError(
        `${at}${server}: database "${target.database}" does not exist — check the database name at the end ` +
          `of with.url (${target.url})`,
        { code: ErrorCode.CONNECTION, cause: err },
      );
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'ER_COLUMNACCESS_DENIED_ERROR':
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
      return new FatalError(
        `${at}user "${target.user}" lacks a privilege on database "${target.database}" at ${target.address} ` +
          `to ${doing}: ${msg} — grant it or use another user`,
        { code: ErrorCode.CONNECTION, cause: err },
      );
    case 'ER_NO_SUCH_TABLE':
      return new FatalError(
        `${at}${msg} in database "${target.database}" at ${target.address} — check with.table (or the ` +
          'tables with.query names)',
        { code: ErrorCode.NOT_FOUND, cause: err },
      );
    case 'ER_BAD_FIELD_ERROR':
    case 'ER_PARSE_ERROR':
      return new FatalError(
        `${at}${server} failed to ${doing}: ${msg} — check the config's column names and query`,
        {
          code: ErrorCode.CONFIG,
          cause: err,
        },
      );
    case 'ER_QUERY_INTERRUPTED':
      return new FatalError(`${at}${server}: the statement was cancelled (${doing})`, {
        code: ErrorCode.ABORTED,
        cause: err,
      });
    default:
      return new FatalError(`${at}${server} failed to ${doing}: ${msg}`, {
        code: ErrorCode.INTERNAL,
        cause: err,
      });
  }
}

/** The mysql source's and sink's connection check: log in, `SELECT 1`, say where it landed. */
export const myConnection = {
  config: Type.Object({ url: Type.String({ minLength: 1 }) }),
  async check(
    config: { url: string },
    ctx: { signal: AbortSignal; stepId: string } & NetContext,
  ): Promise<string> {
    const c = await connect(config.url, { where: ctx.stepId, net: ctx });
    try {
      ctx.signal.throwIfAborted();
      const rows = await c.query<{ v: string }[]>('SELECT VERSION() AS v');
      return `connected to ${c.target.address}/${c.target.database} as ${c.target.user} (server ${rows[0]?.v})`;
    } finally {
      await c.end();
    }
  },
} satisfies ConnectionCheck;
