import { type Static, Type } from '@sinclair/typebox';
import { defineSource, type Issue, type Json, type Row, type SourceContext } from '@sluice/core';
import { holdEqualRun } from '../shared/cursor-run.ts';
import { keyRangeRefusal } from '../shared/key-ranges.ts';
import { connect, type MyConnection, myConnection, myError } from './conn.ts';
import { MyCredential } from './credential.ts';
import { idList, quoteId, sqlDateTime } from './ident.ts';
import { planKeyParts, readPartitions } from './partitions.ts';
import { streamRows } from './stream.ts';

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description:
        'MySQL or MariaDB connection url, e.g. mysql://user:password@host:3306/database (or a credential ' +
        'holding it). The session runs in UTC: TIMESTAMP values come as ISO strings ending in Z, and ' +
        'DATETIME values, which carry no zone, are read as UTC wall times.',
    }),
    query: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'SQL query whose rows are read. Give either query or table.',
      }),
    ),
    table: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Table to read, in the url's database. Give either query or table.",
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
      description:
        'Rows per batch, and about the rows held in memory per connection: the row stream pauses between batches.',
    }),
    incremental: Type.Optional(
      Type.Object(
        {
          column: Type.String({
            minLength: 1,
            description:
              'Column that grows with every new row (an AUTO_INCREMENT id, an insert timestamp). Rows are ' +
              'read in its order; the next run reads only rows with a greater value. Rows where it is NULL ' +
              'are never read. Rows committed later with a value at or below the last one read are missed.',
          }),
        },
        {
          additionalProperties: false,
          description:
            'Read only rows added since the last successful run (the cursor is kept per pipeline step); ' +
            'also makes an interrupted run resumable.',
        },
      ),
    ),
    orderBy: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          'Columns giving the rows a stable, unique order (a primary key). Without incremental, a run can ' +
          'resume after a failure only when this is set: it skips the rows already read with OFFSET.',
      }),
    ),
    partitions: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 1,
      description:
        'Read `table` in this many ranges of its primary key at once, each on its own connection. The key ' +
        'must be one integer column; the range from its minimum to its maximum is cut into equal parts. ' +
        'Each range is resumable: the checkpoint records how far each one got. Rows come interleaved, ' +
        'in key order within a range. Not with query or incremental.',
      examples: [4],
    }),
  },
  { additionalProperties: false },
);
export type Config = Static<typeof Config>;

function check(cfg: Config): Issue[] {
  const { query, table, columns, incremental, partitions } = cfg;
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
  if (partitions > 1 && query !== undefined)
    issues.push({
      path: 'partitions',
      message: 'partitions reads a table by its primary key: give table, not query',
    });
  if (partitions > 1 && incremental !== undefined)
    issues.push({
      path: 'partitions',
      message: 'partitions and incremental exclude each other: use one of them',
    });
  return issues;
}

/** A value read back (an ISO timestamp, say) as MySQL compares it. */
export const param = (v: Json): unknown => (typeof v === 'string' ? sqlDateTime(v) : v);

/** The SELECT without clauses: the table's columns, or the query as a subquery. */
export function baseSelect(cfg: Config): string {
  const text = cfg.query?.trim().replace(/;+\s*$/, '');
  // Newlines, so a trailing `-- comment` in the query cannot swallow the closing parenthesis.
  if (text !== undefined) return `SELECT * FROM (\n${text}\n) AS q`;
  return `SELECT ${cfg.columns ? idList(cfg.columns) : '*'} FROM ${quoteId(cfg.table!)}`;
}

async function* read(
  ctx: SourceContext<Config>,
): AsyncGenerator<{ rows: Row[]; position?: Json; progress: { done: number } }> {
  const cfg = ctx.config;
  const conn = await connect(cfg.url, {
    where: ctx.componentId,
    guard: ctx.guardConnect,
    net: ctx,
    onError: (err) => ctx.log.warn(`connection to MySQL lost: ${err.message}`),
  });
  const what = cfg.table !== undefined ? `table ${cfg.table}` : 'the query';
  ctx.setOrigin(`${conn.target.url} ${what}`);
  try {
    if (cfg.partitions > 1 || ctx.part !== undefined) {
      yield* readPartitions(ctx, conn);
      return;
    }
    yield* readOne(ctx, conn, what);
  } finally {
    await conn.end();
  }
}

async function* readOne(
  ctx: SourceContext<Config>,
  conn: MyConnection,
  what: string,
): AsyncGenerator<{ rows: Row[]; position?: Json; progress: { done: number } }> {
  const { incremental, orderBy, batchSize } = ctx.config;
  const base = baseSelect(ctx.config);
  const resume = ctx.resumeFrom as { cursor?: Json; rows?: number } | undefined;
  const col = incremental?.column;
  let sql = base;
  const params: unknown[] = [];
  let done = 0;
  if (col !== undefined) {
    const last = resume?.cursor ?? ctx.state.get('cursor');
    const c = quoteId(col);
    if (last === undefined || last === null) sql = `${base} WHERE ${c} IS NOT NULL ORDER BY ${c}`;
    else {
      sql = `${base} WHERE ${c} > ? ORDER BY ${c}`;
      params.push(param(last));
    }
  } else if (orderBy !== undefined) {
    done = typeof resume?.rows === 'number' ? resume.rows : 0;
    // MySQL has OFFSET only after a LIMIT: the largest one stands for none.
    sql = `${base} ORDER BY ${idList(orderBy)} LIMIT 18446744073709551615 OFFSET ${done}`;
  }
  let carry: Row[] = [];
  try {
    for await (const got of streamRows(conn, sql, params, batchSize, ctx.signal)) {
      let rows = carry.length > 0 ? carry.concat(got) : got;
      carry = [];
      if (col !== undefined) ({ rows, carry } = holdEqualRun(rows, col));
      done += rows.length;
      if (rows.length > 0) yield batch(ctx, rows, done);
    }
    done += carry.length;
    if (carry.length > 0) yield batch(ctx, carry, done);
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw myError(err, ctx.componentId, conn.target, `read ${what}`);
  }
}

function batch(
  ctx: SourceContext<Config>,
  rows: Row[],
  done: number,
): { rows: Row[]; position?: Json; progress: { done: number } } {
  const col = ctx.config.incremental?.column;
  if (col !== undefined) {
    const value = rows[rows.length - 1]![col] as Json;
    ctx.state.set('cursor', value);
    return { rows, position: { cursor: value }, progress: { done } };
  }
  if (ctx.config.orderBy !== undefined) return { rows, position: { rows: done }, progress: { done } };
  return { rows, progress: { done } };
}

export const mysqlSource = defineSource({
  name: 'mysql',
  version: '1.0.0',
  summary:
    'Reads rows from a MySQL or MariaDB table or query as a stream, optionally incrementally or in parallel key ranges.',
  config: Config,
  credentialSchema: MyCredential,
  connection: myConnection,
  example: {
    url: 'mysql://etl@localhost:3306/shop',
    table: 'orders',
    batchSize: 5000,
    incremental: { column: 'updated_at' },
    partitions: 1,
  },
  check,
  // planKeyParts is a function declaration, there before partitions.ts (which imports this module) runs.
  partitions: { check: keyRangeRefusal, plan: planKeyParts },
  read,
});
