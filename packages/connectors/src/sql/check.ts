import type { DuckDBConnection } from '@duckdb/node-api';
import type { Issue } from '@sluice/core';

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
 * parsed by DuckDB in a throwaway in-memory database. The columns of `input` are only known once
 * rows arrive (they are the rows' fields), so names are bound when the query runs, not here.
 */
export async function validateQuery(query: string): Promise<Issue[]> {
  const { openSession } = await import('./session.ts');
  const session = await openSession({ memoryLimit: '64MB', threads: 1, tempDir: '' });
  try {
    return await statementIssues(session.conn, query);
  } finally {
    session.close();
  }
}
