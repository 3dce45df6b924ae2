import { Type } from '@sinclair/typebox';
import type { Issue, Json, Row, SourceContext } from '@sluice/core';

/**
 * What the SQL sources (postgres, sqlite) share: options beyond the connection, their checks, and
 * the incremental read's rules, so each engine's source holds only how it talks to its database.
 */

export const sourceColumnsProperty = Type.Optional(
  Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    uniqueItems: true,
    description: 'Columns of `table` to read; default: all.',
  }),
);

export const incrementalProperty = Type.Optional(
  Type.Object(
    {
      column: Type.String({
        minLength: 1,
        description:
          'Column that grows with every new row (a serial id, an insert timestamp). Rows are read in ' +
          'its order; the next run reads only rows with a greater value. Rows where it is NULL are ' +
          'never read. Rows committed later with a value at or below the last one read are missed.',
      }),
    },
    {
      additionalProperties: false,
      description:
        'Read only rows added since the last successful run; also makes an interrupted run resumable.',
    },
  ),
);

export const orderByProperty = Type.Optional(
  Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    description:
      'Columns giving the rows a stable, unique order (a primary key). Without incremental, a run can ' +
      'resume after a failure only when this is set: it skips the rows already read with OFFSET. ' +
      'Ignored with incremental, which orders by its column.',
  }),
);

export interface SqlSourceOptions {
  query?: string | undefined;
  table?: string | undefined;
  columns?: string[] | undefined;
  incremental?: { column: string } | undefined;
  orderBy?: string[] | undefined;
}

/** Options that exclude or need each other, beyond what the schema can say. */
export function sqlSourceIssues(cfg: SqlSourceOptions): Issue[] {
  const { query, table, columns, incremental } = cfg;
  const issues: Issue[] = [];
  if ((query === undefined) === (table === undefined))
    issues.push({ path: 'query', message: 'give either query (SQL) or table, not both and not neither' });
  if (query !== undefined && columns !== undefined)
    issues.push({
      path: 'columns',
      message: 'columns applies to table only; with query, list the columns in the SELECT',
    });
  const col = incremental?.column;
  if (col !== undefined && columns !== undefined && !columns.includes(col))
    issues.push({
      path: 'incremental.column',
      message: `"${col}" must be one of columns (${columns.join(', ')})`,
    });
  return issues;
}

/** Where a read starts: after the cursor value (incremental) or after a number of rows (orderBy). */
export interface ReadStart {
  /** The last cursor value read, by the run resumed or the last successful run; absent: from the start. */
  cursor?: Json;
  /** Rows to skip: those read before the checkpoint resumed from (orderBy without incremental). */
  skip: number;
}

/** Where a SQL source's read starts, from the position resumed from or the state of the last run. */
export function readStart(ctx: SourceContext<SqlSourceOptions>): ReadStart {
  const resume = ctx.resumeFrom as { cursor?: Json; rows?: number } | undefined;
  if (ctx.config.incremental !== undefined) {
    const cursor = resume?.cursor ?? ctx.state.get('cursor');
    return cursor === undefined || cursor === null ? { skip: 0 } : { cursor, skip: 0 };
  }
  if (ctx.config.orderBy !== undefined && typeof resume?.rows === 'number') return { skip: resume.rows };
  return { skip: 0 };
}

/**
 * Cuts a SQL source's batches so that each ends where a resume may start, and says where: an
 * incremental read resumes at `WHERE col > last`, so a batch must not end inside a run of equal
 * values (the rest of that run would be skipped): such a run is held back until the value changes.
 */
export class BatchCutter {
  readonly #col: string | undefined;
  readonly #orderBy: boolean;
  readonly #ctx: SourceContext<SqlSourceOptions>;
  #carry: Row[] = [];
  #done: number;

  constructor(ctx: SourceContext<SqlSourceOptions>, skipped: number) {
    this.#ctx = ctx;
    this.#col = ctx.config.incremental?.column;
    this.#orderBy = ctx.config.orderBy !== undefined;
    this.#done = skipped;
  }

  /** The batch to yield for rows just fetched (`last`: the input ended), or undefined for none yet. */
  cut(got: Row[], last: boolean): { rows: Row[]; position?: Json; progress: { done: number } } | undefined {
    const col = this.#col;
    let rows = this.#carry.length > 0 ? this.#carry.concat(got) : got;
    this.#carry = [];
    if (col !== undefined && !last && rows.length > 0) {
      const value = rows[rows.length - 1]![col];
      let k = rows.length - 1;
      while (k > 0 && rows[k - 1]![col] === value) k--;
      this.#carry = rows.slice(k);
      rows = k === 0 ? [] : rows.slice(0, k);
    }
    if (rows.length === 0) return undefined;
    this.#done += rows.length;
    const progress = { done: this.#done };
    if (col !== undefined) {
      const value = rows[rows.length - 1]![col] as Json;
      this.#ctx.state.set('cursor', value);
      return { rows, position: { cursor: value }, progress };
    }
    if (this.#orderBy) return { rows, position: { rows: this.#done }, progress };
    return { rows, progress };
  }
}

/** What differs between the engines in a SQL source's query. */
export interface ReadDialect {
  /** `SELECT … FROM <table>` for a table read (the engine qualifies and quotes its name). */
  tableSelect: string | undefined;
  /** The placeholder of the one bound value: `$1`, `?`. */
  param: string;
  /** The clause that skips `n` rows after ORDER BY: `OFFSET n`, `LIMIT -1 OFFSET n`. */
  offset(n: number): string;
  quote(name: string): string;
}

/** The statement a SQL source runs, and its bound values, for where the read starts. */
export function readSql(
  cfg: SqlSourceOptions,
  start: ReadStart,
  d: ReadDialect,
): { sql: string; params: Json[] } {
  // The query is wrapped in a subquery only when we add clauses, so any SQL the server accepts works as is.
  const text = cfg.query?.trim().replace(/;+\s*$/, '');
  // Newlines, so a trailing `-- comment` in the query cannot swallow the closing parenthesis.
  const base = text === undefined ? d.tableSelect! : `SELECT * FROM (\n${text}\n) AS q`;
  const col = cfg.incremental?.column;
  if (col !== undefined) {
    const c = d.quote(col);
    return start.cursor === undefined
      ? { sql: `${base} WHERE ${c} IS NOT NULL ORDER BY ${c}`, params: [] }
      : { sql: `${base} WHERE ${c} > ${d.param} ORDER BY ${c}`, params: [start.cursor] };
  }
  if (cfg.orderBy !== undefined)
    return {
      sql: `${base} ORDER BY ${cfg.orderBy.map(d.quote).join(', ')} ${d.offset(start.skip)}`,
      params: [],
    };
  return { sql: text ?? base, params: [] };
}
