import { type Static, Type } from '@sinclair/typebox';
import { defineSource, type Issue, type Json, type Row, type SourceContext } from '@sluice/core';
import { holdEqualRun } from '../shared/cursor-run.ts';
import { connect, pgConnection, pgError, sluiceTypes } from './conn.ts';
import { PgCredential } from './credential.ts';
import { identList, qualified, quoteIdent } from './ident.ts';

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'PostgreSQL connection url, e.g. postgres://user:password@host:5432/database',
    }),
    query: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'SQL query whose rows are read. Give either query or table. The session runs in UTC (TimeZone), ' +
          'so timestamptz values come as ISO strings ending in Z and date arithmetic on them uses UTC.',
      }),
    ),
    table: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Table to read (name only, see dbSchema). Give either query or table.',
      }),
    ),
    dbSchema: Type.String({
      minLength: 1,
      default: 'public',
      description: 'PostgreSQL schema (namespace) of `table`.',
      examples: ['public', 'analytics'],
    }),
    // Kept only to say where it went: a config with it is refused (see check).
    schema: Type.Optional(
      Type.String({
        description: 'Renamed dbSchema (the namespace of `table`); refused with a message saying so.',
        deprecated: true,
      }),
    ),
    columns: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        uniqueItems: true,
        description: 'Columns of `table` to read; default: all.',
      }),
    ),
    batchSize: Type.Integer({
      minimum: 1,
      default: 5000,
      description: 'Rows fetched from the server-side cursor per batch.',
    }),
    incremental: Type.Optional(
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
    ),
    orderBy: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          'Columns giving the rows a stable, unique order (a primary key). Without incremental, a run can ' +
          'resume after a failure only when this is set: it skips the rows already read with OFFSET. ' +
          'Ignored with incremental, which orders by its column.',
      }),
    ),
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

interface Plan {
  sql: string;
  params: unknown[];
  /** Rows skipped on resume (OFFSET), counted in progress. */
  skipped: number;
  cursorColumn?: string;
}

/** Options that exclude or need each other, beyond what the schema can say. */
function check(cfg: Config): Issue[] {
  const { query, table, columns, incremental } = cfg;
  const issues: Issue[] = [];
  if (cfg.schema !== undefined)
    issues.push({
      path: 'schema',
      message: `\`schema\` was renamed: the table's PostgreSQL schema is now \`dbSchema: ${cfg.schema}\``,
    });
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

function plan(ctx: SourceContext<Config>): Plan {
  const { query, table, dbSchema, columns, incremental, orderBy } = ctx.config;
  const col = incremental?.column;
  // The query is wrapped in a subquery only when we add clauses, so any SQL the server accepts works as is.
  const text = query?.trim().replace(/;+\s*$/, '');
  const from =
    text === undefined
      ? `SELECT ${columns ? identList(columns) : '*'} FROM ${qualified(dbSchema, table!)}`
      : undefined;
  // Newlines, so a trailing `-- comment` in the query cannot swallow the closing parenthesis.
  const base = from ?? `SELECT * FROM (\n${text}\n) AS q`;
  const resume = ctx.resumeFrom as { cursor?: Json; rows?: number } | undefined;
  if (col !== undefined) {
    const last = resume?.cursor ?? ctx.state.get('cursor');
    const c = quoteIdent(col);
    return last === undefined || last === null
      ? { sql: `${base} WHERE ${c} IS NOT NULL ORDER BY ${c}`, params: [], skipped: 0, cursorColumn: col }
      : { sql: `${base} WHERE ${c} > $1 ORDER BY ${c}`, params: [last], skipped: 0, cursorColumn: col };
  }
  if (orderBy !== undefined) {
    const skipped = typeof resume?.rows === 'number' ? resume.rows : 0;
    return { sql: `${base} ORDER BY ${identList(orderBy)} OFFSET ${skipped}`, params: [], skipped };
  }
  return { sql: text ?? from!, params: [], skipped: 0 };
}

async function* read(
  ctx: SourceContext<Config>,
): AsyncGenerator<{ rows: Row[]; position?: Json; progress: { done: number } }> {
  const { batchSize, orderBy, table, dbSchema } = ctx.config;
  const p = plan(ctx);
  // Loaded before connecting: a failed import then leaves no connection open.
  const { default: Cursor } = await import('pg-cursor');
  const conn = await connect(ctx.config.url, {
    where: ctx.componentId,
    utc: true,
    guard: ctx.guardConnect,
    onError: (err) => ctx.log.warn(`connection to PostgreSQL lost: ${err.message}`),
  });
  const { client, target } = conn;
  const what = table !== undefined ? `${dbSchema}.${table}` : 'the query';
  ctx.setOrigin(`${target.url} ${what}`);
  const cursor = client.query(new Cursor<Row>(p.sql, p.params, { types: sluiceTypes }));
  // Ending the client makes a pending read fail at once; the cancel stops the server's work too.
  const onAbort = () => {
    void conn.cancel();
    void client.end().catch(() => undefined);
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const col = p.cursorColumn;
  let done = p.skipped;
  let carry: Row[] = [];
  try {
    for (;;) {
      let got: Row[];
      try {
        got = await cursor.read(batchSize);
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        throw pgError(err, ctx.componentId, target, `read ${what}`);
      }
      const last = got.length < batchSize;
      let rows = carry.length > 0 ? carry.concat(got) : got;
      carry = [];
      if (col !== undefined && !last) ({ rows, carry } = holdEqualRun(rows, col));
      if (rows.length > 0) {
        done += rows.length;
        let position: Json | undefined;
        if (col !== undefined) {
          const value = rows[rows.length - 1]![col] as Json;
          ctx.state.set('cursor', value);
          position = { cursor: value };
        } else if (orderBy !== undefined) {
          position = { rows: done };
        }
        yield position === undefined ? { rows, progress: { done } } : { rows, position, progress: { done } };
      }
      if (last) break;
      if (ctx.signal.aborted) throw ctx.signal.reason;
    }
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    // Ending the session closes the cursor too, and cannot wait on a half-read portal.
    await client.end().catch(() => undefined);
  }
}

export const postgresSource = defineSource({
  name: 'postgres',
  version: '1.0.0',
  summary: 'Reads rows from a PostgreSQL table or query with a server-side cursor, optionally incrementally.',
  config: Config,
  credentialSchema: PgCredential,
  connection: pgConnection,
  example: {
    url: 'postgres://etl@localhost:5432/shop',
    table: 'orders',
    dbSchema: 'public',
    batchSize: 5000,
    incremental: { column: 'updated_at' },
  },
  check,
  read,
});
