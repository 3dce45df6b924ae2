import type { DuckDBConnection } from '@duckdb/node-api';
import type { Issue, KnownColumn } from '@sluice/core';

/** What can be said of a query without DuckDB (the synchronous check). */
export function queryIssues(query: string): Issue[] {
  return query.trim() === ''
    ? [{ path: 'query', message: 'the query is blank; write a SELECT over `input`' }]
    : [];
}

/**
 * Problems DuckDB finds parsing `query`, at `query`: a syntax error (with DuckDB's LINE and caret
 * text), several statements, or a statement other than a SELECT (a WITH … SELECT is one): the
 * transform's output is one query's result, and nothing else may run in its database.
 */
export async function statementIssues(conn: DuckDBConnection, query: string): Promise<Issue[]> {
  let count: number;
  try {
    count = (await conn.extractStatements(query)).count;
  } catch (err) {
    const message = (err as Error).message.replace(/^Failed to extract statements: /, '');
    return [{ path: 'query', message }];
  }
  if (count !== 1)
    return [
      {
        path: 'query',
        message: `give one SELECT statement, not ${count}: the result of one query is the output`,
      },
    ];
  // A literal: json_serialize_sql takes no parameter.
  const parsed = await conn.runAndReadAll(`SELECT json_serialize_sql('${query.replaceAll("'", "''")}')`);
  const ast = JSON.parse(String(parsed.getRows()[0]![0])) as { error?: boolean; error_message?: string };
  if (ast.error)
    return [
      {
        path: 'query',
        message: /Only SELECT/.test(ast.error_message ?? '')
          ? 'only a SELECT (or WITH … SELECT) may run here: its result is what the transform passes on'
          : (ast.error_message ?? 'DuckDB cannot read this query'),
      },
    ];
  return [];
}

/**
 * The asynchronous check `sluice validate`, a run's start and the platform's API make: the query
 * parsed by DuckDB in a throwaway in-memory database, then bound (column names and types
 * resolved) against `input` when the components before this one declare its columns (`known`).
 * Named inputs' columns are only known once their files are read, so a query with any is parsed
 * only, its names bound when it runs.
 */
export async function validateQuery(
  query: string,
  known: readonly KnownColumn[] | undefined,
  namedInputs: number,
): Promise<Issue[]> {
  const { openSession } = await import('./session.ts');
  const session = await openSession({ memoryLimit: '64MB', threads: 1, tempDir: '' });
  try {
    const parsed = await statementIssues(session.conn, query);
    if (parsed.length > 0 || known === undefined || namedInputs > 0) return parsed;
    return await bindIssues(session.conn, query, known);
  } finally {
    session.close();
  }
}

/**
 * The DuckDB type a known column's values load as (see load.ts): cast's date and timestamp give
 * ISO text, so they are VARCHAR there too, and binding agrees with the run.
 */
const LOADED_AS: Readonly<Record<string, string>> = {
  integer: 'BIGINT',
  number: 'DOUBLE',
  boolean: 'BOOLEAN',
  string: 'VARCHAR',
  date: 'VARCHAR',
  timestamp: 'VARCHAR',
};

async function bindIssues(
  conn: DuckDBConnection,
  query: string,
  known: readonly KnownColumn[],
): Promise<Issue[]> {
  const typed = known.every((c) => c.type !== undefined && LOADED_AS[c.type] !== undefined);
  const cols = known.map((c) => `"${c.name.replaceAll('"', '""')}" ${LOADED_AS[c.type ?? ''] ?? 'VARCHAR'}`);
  await conn.run(`CREATE TABLE input (${cols.join(', ')})`);
  try {
    await conn.prepare(query);
    return [];
  } catch (err) {
    const message = (err as Error).message;
    // With a type guessed (VARCHAR) a type mismatch may be the guess's: only a name is sure.
    if (!typed && !/Referenced (column|table)|not found|does not exist/i.test(message)) return [];
    const names = known.map((c) => (c.type === undefined ? c.name : `${c.name} (${c.type})`)).join(', ');
    return [
      { path: 'query', message: `${message}\n(input's columns, as the steps before declare them: ${names})` },
    ];
  }
}
