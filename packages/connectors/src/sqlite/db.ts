import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Type } from '@sinclair/typebox';
import {
  type ConnectionCheck,
  ErrorCode,
  FatalError,
  type PathContext,
  RetryableError,
  type Row,
  resolveLocalPath,
  type SluiceError,
} from '@sluice/core';
import type BetterSqlite3 from 'better-sqlite3';
import { plainPath } from '../location/url.ts';

export type Database = BetterSqlite3.Database;

let driver: typeof BetterSqlite3 | undefined;

/** better-sqlite3, loaded on first use: flows without SQLite never load its native module. */
async function loadDriver(): Promise<typeof BetterSqlite3> {
  driver ??= (await import('better-sqlite3')).default;
  return driver;
}

export const pathProperty = Type.String({
  minLength: 1,
  description:
    'The SQLite database file: a local path, relative to the spec file’s directory (on the platform, ' +
    'inside the directories it lets pipelines open).',
  examples: ['data/shop.db', '/var/lib/app/app.sqlite'],
});

export interface OpenOptions {
  /** Opens for reading only. */
  readonly?: boolean;
  /** Creates the file (and its directory) when missing; otherwise a missing file is NOT_FOUND. */
  create?: boolean;
  /** Prefix of messages: the component, and the config path that named the file. */
  where: string;
}

/** An open database and the file it is, for messages. */
export interface SqliteHandle {
  db: Database;
  file: string;
}

// A writer holding the lock (another run, an application) is waited for this long before a
// statement fails with SQLITE_BUSY, which is retryable.
const BUSY_TIMEOUT_MS = 10_000;

/**
 * Opens the database at `path` (resolved under the run's path policy, as every local path is).
 * Writers switch the file to WAL, so readers of the same file keep reading while a run writes.
 */
export async function openDatabase(ctx: PathContext, path: string, opts: OpenOptions): Promise<SqliteHandle> {
  const file = await resolveLocalPath(ctx, plainPath(path), opts.where);
  const Driver = await loadDriver();
  const create = opts.create === true && opts.readonly !== true;
  if (create) await mkdir(dirname(file), { recursive: true });
  let db: Database;
  try {
    db = new Driver(file, {
      readonly: opts.readonly ?? false,
      fileMustExist: !create,
      timeout: BUSY_TIMEOUT_MS,
    });
  } catch (err) {
    throw sqliteError(err, opts.where, file, 'open the database');
  }
  try {
    if (!opts.readonly) db.pragma('journal_mode = WAL');
    // Reading a file that is not a database fails here, not at the first query.
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
  } catch (err) {
    db.close();
    throw sqliteError(err, opts.where, file, 'open the database');
  }
  return { db, file };
}

/**
 * A value as SQLite returned it (read with safe integers) as a row value: integers as numbers
 * when exact, else as decimal strings (as the postgres source gives int8: JSON has no bigint),
 * BLOBs as base64 text.
 */
export function fromSqlite(v: unknown): unknown {
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v.toString();
  }
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  return v;
}

/** Converts a row read with safe integers in place (no copy per row). */
export function fromSqliteRow(row: Row): Row {
  for (const k in row) {
    const v = row[k];
    if (typeof v === 'bigint' || v instanceof Uint8Array) row[k] = fromSqlite(v);
  }
  return row;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A row value as SQLite can bind it. Booleans become 1 and 0 (SQLite has no boolean), Dates ISO
 * text, objects and arrays JSON text; into a BLOB column (`blob`), base64 text becomes the bytes
 * it encodes, so a BLOB read by the sqlite source is written back as the same bytes.
 */
export function toSqlite(v: unknown, blob = false): unknown {
  switch (typeof v) {
    case 'string':
      return blob && BASE64.test(v) ? Buffer.from(v, 'base64') : v;
    case 'number':
    case 'bigint':
      return v;
    case 'boolean':
      return v ? 1 : 0;
    case 'undefined':
      return null;
    case 'object':
      if (v === null || Buffer.isBuffer(v)) return v;
      if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      if (v instanceof Date) return v.toISOString();
      return JSON.stringify(v);
    default:
      return String(v);
  }
}

// Result codes a later attempt can succeed on: another connection held the lock too long.
const RETRYABLE = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT']);

/** Turns a better-sqlite3 error into a SluiceError saying where, what failed and what to check. */
export function sqliteError(err: unknown, where: string, file: string, doing: string): SluiceError {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: string }).code ?? '';
  const at = `${where}: SQLite ${file}`;
  if (RETRYABLE.has(code))
    return new RetryableError(
      `${at}: could not ${doing}: the database is locked by another connection (${e.message}); it was waited ` +
        `for ${BUSY_TIMEOUT_MS / 1000} s`,
      { cause: err },
    );
  if (code.startsWith('SQLITE_CANTOPEN'))
    return new FatalError(
      `${at}: cannot open the file (${e.message}) — check that it exists, or that its directory does and may be written`,
      { code: ErrorCode.NOT_FOUND, cause: err },
    );
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
    return new FatalError(`${at} is not a SQLite database, or is damaged: ${e.message}`, {
      code: ErrorCode.CONFIG,
      cause: err,
    });
  if (/^no such (table|column)/.test(e.message))
    return new FatalError(`${at}: could not ${doing}: ${e.message} — check the table and column names`, {
      code: ErrorCode.NOT_FOUND,
      cause: err,
    });
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM'))
    return new FatalError(`${at}: could not ${doing}: ${e.message} — check the file's permissions`, {
      code: ErrorCode.CONNECTION,
      cause: err,
    });
  return new FatalError(`${at}: could not ${doing}: ${e.message}`, {
    code: code === 'SQLITE_ERROR' ? ErrorCode.CONFIG : ErrorCode.INTERNAL,
    cause: err,
  });
}

/** The sqlite source's and sink's connection check: opens the file read-only and counts its tables. */
export const sqliteConnection = {
  config: Type.Object({ path: Type.String({ minLength: 1 }) }),
  async check(config: { path: string }, ctx) {
    const { db, file } = await openDatabase(ctx, config.path, {
      readonly: true,
      where: `${ctx.stepId}: path`,
    });
    try {
      const { n } = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as {
        n: number;
      };
      return `opened ${file} (SQLite ${String((db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v)}, ${n} table(s))`;
    } finally {
      db.close();
    }
  },
} satisfies ConnectionCheck;

/** Yields to the event loop: synchronous reads and writes give other work its turn between batches. */
export const breathe = (): Promise<void> => new Promise((done) => setImmediate(done));
