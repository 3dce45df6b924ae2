import { type Static, Type } from '@sinclair/typebox';
import { defineSource, type Json, type Row, type SourceContext } from '@sluice/core';
import { identList, quoteIdent } from '../postgres/ident.ts';
import {
  BatchCutter,
  incrementalProperty,
  orderByProperty,
  readSql,
  readStart,
  sourceColumnsProperty,
  sqlSourceIssues,
} from '../shared/sql-source.ts';
import { breathe, fromSqliteRow, openDatabase, pathProperty, sqliteConnection, sqliteError } from './db.ts';

const Config = Type.Object(
  {
    path: pathProperty,
    query: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'SQL query whose rows are read. Give either query or table.',
        examples: ["SELECT id, total FROM orders WHERE status = 'paid'"],
      }),
    ),
    table: Type.Optional(
      Type.String({ minLength: 1, description: 'Table to read. Give either query or table.' }),
    ),
    columns: sourceColumnsProperty,
    batchSize: Type.Integer({
      minimum: 1,
      default: 5000,
      description:
        'Rows read per batch. SQLite reads synchronously: between batches other work of the process ' +
        '(its other steps, the platform’s heartbeats) gets its turn.',
    }),
    incremental: incrementalProperty,
    orderBy: orderByProperty,
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

async function* read(
  ctx: SourceContext<Config>,
): AsyncGenerator<{ rows: Row[]; position?: Json; progress: { done: number } }> {
  const { batchSize, table, columns } = ctx.config;
  const start = readStart(ctx);
  const { sql, params } = readSql(ctx.config, start, {
    tableSelect:
      table === undefined
        ? undefined
        : `SELECT ${columns ? identList(columns) : '*'} FROM ${quoteIdent(table)}`,
    param: '?',
    // SQLite takes OFFSET only after a LIMIT; -1 is none.
    offset: (n) => `LIMIT -1 OFFSET ${n}`,
    quote: quoteIdent,
  });
  const what = table ?? 'the query';
  const { db, file } = await openDatabase(ctx, ctx.config.path, {
    readonly: true,
    where: `${ctx.componentId}: config.path`,
  });
  ctx.setOrigin(`${file} ${what}`);
  const fail = (err: unknown) => sqliteError(err, ctx.componentId, file, `read ${what}`);
  let rows: IterableIterator<Row>;
  try {
    // Safe integers: an INTEGER beyond 2^53 arrives exact (as a bigint, then its decimal text).
    rows = db
      .prepare(sql)
      .safeIntegers(true)
      .iterate(...(params as unknown[])) as IterableIterator<Row>;
  } catch (err) {
    db.close();
    throw fail(err);
  }
  const cutter = new BatchCutter(ctx, start.skip);
  try {
    for (;;) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const got: Row[] = [];
      try {
        for (let i = 0; i < batchSize; i++) {
          const next = rows.next();
          if (next.done) break;
          got.push(fromSqliteRow(next.value));
        }
      } catch (err) {
        throw fail(err);
      }
      const last = got.length < batchSize;
      const batch = cutter.cut(got, last);
      if (batch !== undefined) yield batch;
      if (last) break;
      await breathe();
    }
  } finally {
    // An unfinished iterator keeps its statement busy, and the database would refuse to close.
    rows.return?.();
    db.close();
  }
}

export const sqliteSource = defineSource({
  name: 'sqlite',
  version: '1.0.0',
  summary: 'Reads rows from a SQLite table or query, in batches, optionally incrementally.',
  config: Config,
  connection: sqliteConnection,
  example: {
    path: 'data/shop.db',
    table: 'orders',
    batchSize: 5000,
    incremental: { column: 'id' },
  },
  check: sqlSourceIssues,
  read,
});
