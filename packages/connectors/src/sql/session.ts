import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ConfigError, ErrorCode, FatalError } from '@sluice/core';
import { duckdb } from './duckdb.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/**
 * DuckDB's memory limit when the config names none: a quarter of the machine's memory, at most
 * 1 GiB, and at most half of V8's heap limit, which is how a step's memory limit reaches the
 * process (the platform starts step processes with `--max-old-space-size`): DuckDB's memory lies
 * outside that heap, so the two halves share the step's budget.
 */
export function defaultMemoryLimit(): string {
  const bytes = Math.min(GiB, totalmem() / 4, getHeapStatistics().heap_size_limit / 2);
  return `${Math.max(64, Math.floor(bytes / MiB))}MB`;
}

export interface SessionOptions {
  memoryLimit: string;
  threads?: number | undefined;
  /** Where DuckDB spills what does not fit in `memoryLimit`. */
  tempDir: string;
}

/** An in-memory DuckDB and its one connection; `close` releases both. */
export interface Session {
  readonly conn: DuckDBConnection;
  close(): void;
}

export async function openSession(opts: SessionOptions): Promise<Session> {
  const options: Record<string, string> = {
    memory_limit: opts.memoryLimit,
    temp_directory: opts.tempDir,
    // Extensions are never downloaded: a run is offline and must not fetch code (httpfs and the
    // like are not available; remote inputs go through Sluice's own locations).
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'true',
  };
  if (opts.threads !== undefined) options.threads = String(opts.threads);
  let instance: DuckDBInstance;
  try {
    instance = await duckdb.DuckDBInstance.create(':memory:', options);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/memory/i.test(message))
      throw new ConfigError('invalid sql transform config', [
        {
          path: 'with.memoryLimit',
          message: `DuckDB refused it: ${message}; give a size such as 256MB or 2GB`,
        },
      ]);
    throw new FatalError(`DuckDB could not start: ${message}`, { cause: err });
  }
  const conn = await instance.connect();
  return {
    conn,
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/**
 * Shuts the database off from the file system but for `files` (the named inputs) and `tempDir`
 * (spills), and locks its settings: the query is a user's, and must open nothing a file source of
 * the same step could not (the platform restricts paths), nor lift its memory limit.
 */
export async function lockDown(
  conn: DuckDBConnection,
  files: readonly string[],
  tempDir: string,
): Promise<void> {
  const list = (xs: readonly string[]) => `[${xs.map((x) => `'${x.replaceAll("'", "''")}'`).join(', ')}]`;
  if (files.length > 0) await conn.run(`SET allowed_paths = ${list(files)}`);
  if (tempDir !== '') await conn.run(`SET allowed_directories = ${list([tempDir])}`);
  await conn.run('SET enable_external_access = false');
  await conn.run('SET lock_configuration = true');
}

/**
 * A DuckDB error met running the query, as a Sluice error at `with.query`. DuckDB's message names
 * its kind (`Parser Error`, `Binder Error`, `Conversion Error`…) and, for the first two, the line
 * and a caret under the position: it is kept whole. Errors in the query's text or names are config
 * errors; the rest (a failed cast of some row's value, out of memory) fail the step.
 */
export function queryError(err: unknown, what = 'the query'): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (/^(Parser|Binder|Catalog|Syntax) Error/.test(message))
    return new ConfigError('invalid sql transform query', [{ path: 'with.query', message }]);
  return new FatalError(`with.query: DuckDB failed running ${what}: ${message}`, {
    cause: err,
    code: ErrorCode.TASK_FAILED,
  });
}
