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
import type pg from 'pg';
import { maskUrl, NODE_REASON } from '../shared/db-url.ts';

export { maskUrl };

/** Where a connection goes, for messages: never includes the password. */
export interface PgTarget {
  /** `host:port` (or the socket directory for Unix sockets). */
  address: string;
  database: string;
  user: string;
  /** The url with its password replaced by `***`. */
  url: string;
}

export interface ConnectOptions {
  /** Prefix of every message: the component that connects (`ctx.componentId`). */
  where: string;
  /**
   * Runs the session in UTC so timestamptz values come back with a `+00` offset and convert to
   * ISO strings without a Date round trip (which would drop microseconds).
   */
  utc?: boolean;
  /** Called for errors on an idle connection (the server went away); the next query fails too. */
  onError?: (err: Error) => void;
  /** The component's circuit breaker (`ctx.guardConnect`): connecting goes through it, keyed `host:port`. */
  guard?: (<T>(endpoint: string, connect: () => Promise<T>) => Promise<T>) | undefined;
  /** The component's context, for its network policy; the built-in refusals only when absent. */
  net?: NetContext | undefined;
}

export interface PgConnection {
  client: pg.Client;
  target: PgTarget;
  /**
   * Cancels the running statement from a second, short-lived session (best effort). Closing the
   * socket alone leaves a busy backend working until it next writes to the client.
   */
  cancel(): Promise<void>;
}

const OID = { int8: 20, numeric: 1700, date: 1082, timestamp: 1114, timestamptz: 1184 } as const;

function parseInt8(s: string): number | string {
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : s;
}

// A double holds 15 significant decimal digits exactly; longer numerics stay strings so no
// digit is silently lost (money, ids stored as numeric).
function parseNumeric(s: string): number | string {
  let digits = 0;
  let leading = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) {
      if (c !== 45 && c !== 46) return s; // NaN, Infinity
      continue;
    }
    if (leading && c === 48) continue;
    leading = false;
    digits++;
  }
  return digits <= 15 ? Number(s) : s;
}

/**
 * `2024-01-02 03:04:05.123456+00` → `2024-01-02T03:04:05.123456Z`; other offsets (a session
 * not in UTC) stay, as ISO's `+05:30` or `-08:00`.
 */
export function isoTimestamptz(s: string): string {
  if (s.charCodeAt(10) !== 32) return s; // infinity, BC dates: as PostgreSQL prints them
  const iso = `${s.slice(0, 10)}T${s.slice(11)}`;
  if (iso.endsWith('+00')) return `${iso.slice(0, -3)}Z`;
  const sign = iso.charCodeAt(iso.length - 3);
  return sign === 43 || sign === 45 ? `${iso}:00` : iso;
}

export function isoTimestamp(s: string): string {
  return s.charCodeAt(10) === 32 ? `${s.slice(0, 10)}T${s.slice(11)}` : s;
}

const overrides = new Map<number, (s: string) => unknown>([
  [OID.int8, parseInt8],
  [OID.numeric, parseNumeric],
  // Dates stay `YYYY-MM-DD`: a JS Date would shift them by the local time zone.
  [OID.date, (s) => s],
  [OID.timestamp, isoTimestamp],
  [OID.timestamptz, isoTimestamptz],
]);

let pgModule: typeof pg | undefined;

/**
 * The `pg` package, loaded on first use: flows without PostgreSQL, and the worker threads of
 * parallel flows (which only encode COPY text), never pay its ~60 ms of loading.
 */
export async function loadPg(): Promise<typeof pg> {
  pgModule ??= (await import('pg')).default;
  return pgModule;
}

/**
 * Type parsers of Sluice's own clients (set per client, never on pg's global `types`, so the
 * host application's pg keeps its behaviour): numbers when exact, timestamps as ISO strings.
 */
export const sluiceTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    (format ?? 'text') === 'text'
      ? (overrides.get(oid) ?? pgModule!.types.getTypeParser(oid, format))
      : pgModule!.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * The host a url connects to, without loading pg: its `host` parameter (a socket directory), its
 * host name, else PGHOST or `''` (libpq's local socket); undefined when it cannot be read.
 */
export function pgHost(url: string): string | undefined {
  const fallback = process.env.PGHOST ?? '';
  if (!/^postgres(ql)?:\/\//.test(url)) {
    // A libpq key=value string.
    return url.includes('=') ? (/(?:^|\s)host\s*=\s*'?([^\s']+)/.exec(url)?.[1] ?? fallback) : undefined;
  }
  try {
    const u = new URL(url);
    return u.searchParams.get('host') ?? (decodeURIComponent(u.hostname) || fallback);
  } catch {
    return undefined;
  }
}

/** Opens one client with Sluice's type parsers; failures become actionable SluiceErrors. */
export async function connect(url: string, opts: ConnectOptions): Promise<PgConnection> {
  const { Client } = await loadPg();
  let client: pg.Client;
  try {
    client = new Client({
      connectionString: url,
      types: sluiceTypes,
      connectionTimeoutMillis: 15_000,
      application_name: 'sluice',
      ...(opts.utc ? { options: '-c TimeZone=UTC' } : {}),
    });
  } catch (err) {
    throw new FatalError(`${opts.where}: invalid PostgreSQL url ${maskUrl(url)}: ${(err as Error).message}`, {
      code: ErrorCode.CONFIG,
      cause: err,
    });
  }
  const target: PgTarget = {
    address: client.host?.startsWith('/') ? client.host : `${client.host}:${client.port}`,
    database: client.database ?? '',
    user: client.user ?? '',
    url: maskUrl(url),
  };
  client.on('error', (err) => opts.onError?.(err));
  const open = async (): Promise<void> => {
    // pg resolves the host again when it connects (it takes no lookup), so a DNS answer that
    // changes in between is not checked: residual risk, see core's net-check.ts.
    if (client.host) await checkHost(opts.net ?? {}, client.host, `${opts.where} url`);
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw pgError(err, opts.where, target, 'connect');
    }
  };
  await (opts.guard ? opts.guard(target.address, open) : open());
  const pid = (client as unknown as { processID: number }).processID;
  const cancel = async (): Promise<void> => {
    const other = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    other.on('error', () => undefined);
    try {
      await other.connect();
      await other.query('SELECT pg_cancel_backend($1)', [pid]);
    } catch {
      // The backend may be gone already; either way nothing is left to cancel.
    } finally {
      await other.end().catch(() => undefined);
    }
  };
  return { client, target, cancel };
}

// SQLSTATEs that a retry can fix: the connection or the transaction, not the request, failed.
function retryableState(code: string): boolean {
  return (
    code.startsWith('08') || // connection exception
    code === '57P01' || // admin shutdown
    code === '57P02' || // crash shutdown
    code === '57P03' || // cannot connect now (starting up)
    code === '53300' || // too many connections
    code === '40001' || // serialization failure
    code === '40P01' // deadlock detected
  );
}

interface PgErrorFields {
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
  where?: string;
}

/**
 * Turns an error from pg into a SluiceError that says where (component, server, database),
 * what went wrong and what to check; network-ish failures are retryable, the rest fatal.
 */
export function pgError(err: unknown, where: string, target: PgTarget, doing = 'query'): SluiceError {
  const e = (err instanceof Error ? err : new Error(String(err))) as Error & PgErrorFields;
  const code = e.code ?? '';
  const at = `${where}: `;
  const server = `PostgreSQL at ${target.address}`;
  if (NODE_REASON[code] !== undefined || /timeout|Connection terminated/i.test(e.message)) {
    const reason =
      NODE_REASON[code] ??
      (/timeout/i.test(e.message)
        ? NODE_REASON.ETIMEDOUT!
        : 'the connection was closed unexpectedly — the server may have restarted');
    const what = doing === 'connect' ? `cannot connect to ${server}` : `lost the connection to ${server}`;
    const msg = `${at}${what}: ${reason}`;
    return code === 'ENOTFOUND' || code === 'ENETUNREACH'
      ? new FatalError(msg, { code: ErrorCode.CONNECTION, cause: err })
      : new RetryableError(msg, { cause: err });
  }
  const db = `database "${target.database}" at ${target.address}`;
  const tail = [e.where, e.detail, e.hint ? `hint: ${e.hint}` : undefined].filter(Boolean).join('; ');
  const detail = tail ? ` (${tail})` : '';
  if (retryableState(code))
    return new RetryableError(`${at}${server}: ${e.message}${detail}`, { cause: err });
  switch (code) {
    case '28P01':
    case '28000':
      return new FatalError(
        `${at}${server} refused user "${target.user}": ${e.message} — check the user and password in the url ` +
          `(${target.url}) and the server's pg_hba.conf`,
        { code: ErrorCode.CONNECTION, cause: err },
      );
    case '3D000':
      return new FatalError(
        `${at}${server}: database "${target.database}" does not exist — check the database name at the end of ` +
          `the url (${target.url})`,
        { code: ErrorCode.CONNECTION, cause: err },
      );
    case '42P01':
    case '3F000':
      return new FatalError(`${at}${e.message} in ${db}${detail} — check the schema and table names`, {
        code: ErrorCode.NOT_FOUND,
        cause: err,
      });
    case '42P10':
      return new FatalError(
        `${at}${e.message} — upsert needs a primary key or unique index on exactly the key columns`,
        { code: ErrorCode.CONFIG, cause: err },
      );
    case '42501':
      return new FatalError(
        `${at}user "${target.user}" lacks a privilege on ${db}: ${e.message} — grant it or use another user`,
        { code: ErrorCode.CONNECTION, cause: err },
      );
    default:
      return new FatalError(`${at}${server} failed to ${doing}: ${e.message}${detail}`, {
        code: code.startsWith('42') ? ErrorCode.CONFIG : ErrorCode.INTERNAL,
        cause: err,
      });
  }
}

/** The postgres source's and sink's connection check: connect, `SELECT 1`, say where it landed. */
export const pgConnection = {
  config: Type.Object({ url: Type.String({ minLength: 1 }) }),
  async check(config: { url: string }, ctx: { signal: AbortSignal; stepId: string }): Promise<string> {
    const conn = await connect(config.url, { where: ctx.stepId });
    try {
      ctx.signal.throwIfAborted();
      await conn.client.query('SELECT 1');
      return `connected to ${conn.target.address}/${conn.target.database} as ${conn.target.user}`;
    } finally {
      await conn.client.end().catch(() => undefined);
    }
  },
} satisfies ConnectionCheck;
