import { type Static, Type } from '@sinclair/typebox';
import { defineSource, type Issue, type Json, type Row, type SourceContext } from '@sluice/core';
import { toKeyPart } from '../shared/key-ranges.ts';
import {
  BatchCutter,
  incrementalProperty,
  orderByProperty,
  readSql,
  readStart,
  sourceColumnsProperty,
  sqlSourceIssues,
} from '../shared/sql-source.ts';
import { connect, pgConnection, pgError, sluiceTypes } from './conn.ts';
import { PgCredential } from './credential.ts';
import { identList, qualified, quoteIdent } from './ident.ts';
import { keyRangeRead, pgPartitions } from './partitions.ts';

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
    columns: sourceColumnsProperty,
    batchSize: Type.Integer({
      minimum: 1,
      default: 5000,
      description: 'Rows fetched from the server-side cursor per batch.',
    }),
    incremental: incrementalProperty,
    orderBy: orderByProperty,
  },
  { additionalProperties: false },
);
export type Config = Static<typeof Config>;

/** Options that exclude or need each other, beyond what the schema can say. */
function check(cfg: Config): Issue[] {
  const issues: Issue[] = [];
  if (cfg.schema !== undefined)
    issues.push({
      path: 'schema',
      message: `\`schema\` was renamed: the table's PostgreSQL schema is now \`dbSchema: ${cfg.schema}\``,
    });
  return [...issues, ...sqlSourceIssues(cfg)];
}

async function* read(
  ctx: SourceContext<Config>,
): AsyncGenerator<{ rows: Row[]; position?: Json; progress: { done: number } }> {
  const { batchSize, table, dbSchema, columns } = ctx.config;
  const part = ctx.part === undefined ? undefined : toKeyPart(ctx.part, ctx.componentId);
  // Loaded before connecting: a failed import then leaves no connection open.
  const { default: Cursor } = await import('pg-cursor');
  const conn = await connect(ctx.config.url, {
    where: ctx.componentId,
    utc: true,
    guard: ctx.guardConnect,
    net: ctx,
    onError: (err) => ctx.log.warn(`connection to PostgreSQL lost: ${err.message}`),
  });
  const { client, target } = conn;
  const what = table !== undefined ? `${dbSchema}.${table}` : 'the query';
  ctx.setOrigin(`${target.url} ${what}`);
  // Ending the client makes a pending read fail at once; the cancel stops the server's work too.
  const onAbort = () => {
    void conn.cancel();
    void client.end().catch(() => undefined);
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    let query: { sql: string; params: Json[] };
    let cut: (
      got: Row[],
      last: boolean,
    ) => { rows: Row[]; position?: Json; progress: { done: number } } | undefined;
    if (part) ({ cut, ...query } = await keyRangeRead(ctx, conn, part));
    else {
      const start = readStart(ctx);
      query = readSql(ctx.config, start, {
        tableSelect:
          table === undefined
            ? undefined
            : `SELECT ${columns ? identList(columns) : '*'} FROM ${qualified(dbSchema, table)}`,
        param: '$1',
        offset: (n) => `OFFSET ${n}`,
        quote: quoteIdent,
      });
      const cutter = new BatchCutter(ctx, start.skip);
      cut = (got, last) => cutter.cut(got, last);
    }
    const cursor = client.query(new Cursor<Row>(query.sql, query.params, { types: sluiceTypes }));
    for (;;) {
      let got: Row[];
      try {
        got = await cursor.read(batchSize);
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        throw pgError(err, ctx.componentId, target, `read ${what}`);
      }
      const last = got.length < batchSize;
      const batch = cut(got, last);
      if (batch !== undefined) yield batch;
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
  // A table's listed columns; a query's are DuckDB-free to know only by asking the server.
  columns: (c) => (c.query === undefined && c.columns ? c.columns.map((name) => ({ name })) : undefined),
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
  partitions: pgPartitions,
  read,
});
