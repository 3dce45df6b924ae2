import {
  ErrorCode,
  FatalError,
  type Json,
  type PartitionedRead,
  type Row,
  SluiceError,
  type SourceContext,
} from '@sluice/core';
import type pg from 'pg';
import { type KeyPart, keyParts, keyRangeRefusal } from '../shared/key-ranges.ts';
import { connect, type PgConnection, pgError } from './conn.ts';
import { identList, qualified, quoteIdent } from './ident.ts';
import type { Config } from './source.ts';

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);

/** The table's primary key, which must be one integer column (so its keys can be cut into ranges). */
async function primaryKey(ctx: SourceContext<Config>, client: pg.Client): Promise<string> {
  const { table, dbSchema, columns } = ctx.config;
  const name = qualified(dbSchema, table!);
  const found = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [name]);
  if (!found.rows[0]?.ok)
    throw new FatalError(
      `${ctx.componentId}: table ${dbSchema}.${table} does not exist — check with.table and with.dbSchema`,
      {
        code: ErrorCode.NOT_FOUND,
      },
    );
  const keys = await client.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = to_regclass($1) AND i.indisprimary`,
    [name],
  );
  const refuse = (why: string) =>
    new FatalError(
      `${ctx.componentId}: partitions need table ${dbSchema}.${table} to have a primary key of one integer ` +
        `column; ${why}. Read it without partitions, or add such a key.`,
      { code: ErrorCode.CONFIG },
    );
  if (keys.rows.length === 0) throw refuse('it has none');
  if (keys.rows.length > 1)
    throw refuse(`its key has ${keys.rows.length} columns (${keys.rows.map((k) => k.name).join(', ')})`);
  const key = keys.rows[0]!;
  if (!INTEGER_TYPES.has(key.type)) throw refuse(`its key ${key.name} is ${key.type}`);
  if (columns && !columns.includes(key.name))
    throw new FatalError(
      `${ctx.componentId}: with.columns must include the primary key ${key.name} to read in partitions`,
      {
        code: ErrorCode.CONFIG,
      },
    );
  return key.name;
}

/** How a partitioned step cuts a table: its integer key's MIN..MAX into ranges (see KeyPart). */
export const pgPartitions: PartitionedRead<Config> = {
  check: keyRangeRefusal,
  async plan(ctx, n) {
    const conn = await connect(ctx.config.url, { where: ctx.componentId, guard: ctx.guardConnect, net: ctx });
    try {
      const key = quoteIdent(await primaryKey(ctx, conn.client));
      const res = await conn.client.query<{ lo: string | null; hi: string | null }>(
        `SELECT min(${key})::text AS lo, max(${key})::text AS hi FROM ${qualified(ctx.config.dbSchema, ctx.config.table!)}`,
      );
      return keyParts(res.rows[0]?.lo, res.rows[0]?.hi, n);
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw err instanceof SluiceError
        ? err
        : pgError(err, ctx.componentId, conn.target, `cut table ${ctx.config.table}`);
    } finally {
      await conn.client.end().catch(() => undefined);
    }
  },
};

/** Where a part's read stands: the last key read (null before the first) and the rows read. */
interface KeyPosition {
  after: string | null;
  rows: number;
}

function toKeyPosition(p: Json, where: string): KeyPosition {
  const o = p as Partial<KeyPosition> | null;
  if (
    o === null ||
    typeof o !== 'object' ||
    !(o.after === null || (typeof o.after === 'string' && /^-?\d+$/.test(o.after))) ||
    !Number.isSafeInteger(o.rows)
  )
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `${where}: cannot resume this partition from ${JSON.stringify(p)}: expected {after, rows} as saved by a ` +
        'partition of this source. Run again without resuming to start over',
    );
  return o as KeyPosition;
}

type PartBatch = { rows: Row[]; position: Json; progress: { done: number } };

/** A part's query in key order, and how its batches say where to resume: after their last key. */
export async function keyRangeRead(
  ctx: SourceContext<Config>,
  conn: PgConnection,
  part: KeyPart,
): Promise<{ sql: string; params: Json[]; cut: (got: Row[]) => PartBatch | undefined }> {
  const { table, dbSchema, columns } = ctx.config;
  let key: string;
  try {
    key = await primaryKey(ctx, conn.client);
  } catch (err) {
    throw err instanceof SluiceError
      ? err
      : pgError(err, ctx.componentId, conn.target, `inspect table ${table}`);
  }
  const at =
    ctx.resumeFrom === undefined ? { after: null, rows: 0 } : toKeyPosition(ctx.resumeFrom, ctx.componentId);
  const k = quoteIdent(key);
  const select = `SELECT ${columns ? identList(columns) : '*'} FROM ${qualified(dbSchema, table!)}`;
  const sql = `${select} WHERE ${k} ${at.after === null ? '>=' : '>'} $1 AND ${k} <= $2 ORDER BY ${k}`;
  let done = at.rows;
  return {
    sql,
    params: [at.after ?? part.from, part.to],
    cut: (rows) => {
      if (rows.length === 0) return undefined;
      done += rows.length;
      const after = String(rows[rows.length - 1]![key]);
      return { rows, position: { after, rows: done } satisfies KeyPosition, progress: { done } };
    },
  };
}
