import { ErrorCode, FatalError, type Json, type Row, type SourceContext } from '@sluice/core';
import { cutRanges, type KeyRange, keyParts, toKeyPart } from '../shared/key-ranges.ts';
import { connect, type MyConnection, myError } from './conn.ts';
import { quoteId } from './ident.ts';
import type { Config } from './source.ts';
import { baseSelect } from './source.ts';
import { streamRows } from './stream.ts';
import { describeTable, primaryKeyColumns } from './table.ts';

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);

/** The table's primary key, which must be one integer column. */
async function primaryKey(ctx: SourceContext<Config>, conn: MyConnection): Promise<string> {
  const table = ctx.config.table!;
  const columns = await describeTable(conn, table);
  if (columns === undefined)
    throw new FatalError(
      `${ctx.componentId}: table ${table} does not exist in database "${conn.target.database}" at ` +
        `${conn.target.address} — check with.table`,
      { code: ErrorCode.NOT_FOUND },
    );
  const keys = await primaryKeyColumns(conn, table);
  const refuse = (why: string) =>
    new FatalError(
      `${ctx.componentId}: with.partitions needs table ${table} to have a primary key of one integer column; ${why}. ` +
        'Read it without partitions, or add such a key.',
      { code: ErrorCode.CONFIG },
    );
  if (keys.length === 0) throw refuse('it has none');
  if (keys.length > 1) throw refuse(`its key has ${keys.length} columns (${keys.join(', ')})`);
  const key = keys[0]!;
  const type = columns.find((c) => c.name === key)!.dataType;
  if (!INTEGER_TYPES.has(type)) throw refuse(`its key ${key} is ${type}`);
  if (ctx.config.columns && !ctx.config.columns.includes(key))
    throw new FatalError(
      `${ctx.componentId}: with.columns must include the primary key ${key} to read in partitions`,
      { code: ErrorCode.CONFIG },
    );
  return key;
}

/** The table's smallest and largest key, as text; null for an empty table. */
async function keySpan(conn: MyConnection, table: string, key: string) {
  const [b] = await conn.query<{ lo: string | null; hi: string | null }[]>(
    `SELECT CAST(MIN(${quoteId(key)}) AS CHAR) AS lo, CAST(MAX(${quoteId(key)}) AS CHAR) AS hi FROM ${quoteId(table)}`,
  );
  return { lo: b?.lo ?? null, hi: b?.hi ?? null };
}

/**
 * The source's `partitions.plan`: the table's keys from MIN to MAX cut into `n` ranges of about
 * equal width, one part each (see KeyPart). With `with.partitions` as well, each part is read in
 * that many ranges at once, as the whole table would be.
 */
export async function planKeyParts(ctx: SourceContext<Config>, n: number): Promise<Json[]> {
  const conn = await connect(ctx.config.url, { where: ctx.componentId, guard: ctx.guardConnect, net: ctx });
  try {
    const key = await primaryKey(ctx, conn);
    const { lo, hi } = await keySpan(conn, ctx.config.table!, key);
    return keyParts(lo, hi, n);
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw err instanceof FatalError
      ? err
      : myError(err, ctx.componentId, conn.target, `cut table ${ctx.config.table}`);
  } finally {
    await conn.end();
  }
}

/**
 * Reads the table's key ranges at once, one connection each, and yields their batches as they
 * come. At most one batch per range is waiting at any time, so memory holds `partitions` batches.
 * The position after each batch records every range's progress as of the batches yielded so far.
 * A partition (`ctx.part`) reads its own keys alone, in `partitions` ranges.
 */
export async function* readPartitions(
  ctx: SourceContext<Config>,
  conn: MyConnection,
): AsyncGenerator<{ rows: Row[]; position: Json; progress: { done: number } }> {
  const { partitions, batchSize, table } = ctx.config;
  const where = `read table ${table}`;
  let key: string;
  let ranges: KeyRange[];
  const resume = ctx.resumeFrom as { ranges?: KeyRange[]; rows?: number } | undefined;
  const part = ctx.part === undefined ? undefined : toKeyPart(ctx.part, ctx.componentId);
  try {
    key = await primaryKey(ctx, conn);
    if (resume?.ranges) ranges = resume.ranges.map((r) => ({ ...r }));
    else if (part) ranges = cutRanges(BigInt(part.from), BigInt(part.to), partitions);
    else {
      const { lo, hi } = await keySpan(conn, table!, key);
      if (lo === null || hi === null) return;
      ranges = cutRanges(BigInt(lo), BigInt(hi), partitions);
    }
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw err instanceof FatalError ? err : myError(err, ctx.componentId, conn.target, where);
  }
  ctx.log.info(`reading ${table} in ${ranges.length} key range(s) of ${key}`, { ranges });
  const base = baseSelect(ctx.config);
  const k = quoteId(key);
  const conns: MyConnection[] = [];
  const readers: AsyncGenerator<Row[]>[] = [];
  let done = resume?.rows ?? 0;
  try {
    for (const r of ranges) {
      const c = await connect(ctx.config.url, { where: ctx.componentId, guard: ctx.guardConnect, net: ctx });
      conns.push(c);
      const sql = `${base} WHERE ${k} ${r.after === null ? '>=' : '>'} ? AND ${k} <= ? ORDER BY ${k}`;
      readers.push(streamRows(c, sql, [r.after ?? r.from, r.to], batchSize, ctx.signal));
    }
    const next = (i: number) => readers[i]!.next().then((res) => ({ i, res }));
    const pending = new Map(readers.map((_, i) => [i, next(i)]));
    while (pending.size > 0) {
      const { i, res } = await Promise.race(pending.values());
      if (res.done) {
        pending.delete(i);
        continue;
      }
      pending.set(i, next(i));
      const rows = res.value;
      ranges[i]!.after = String(rows[rows.length - 1]![key]);
      done += rows.length;
      yield { rows, position: { ranges: ranges.map((r) => ({ ...r })), rows: done }, progress: { done } };
    }
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw myError(err, ctx.componentId, conn.target, where);
  } finally {
    // A range still streaming cannot end politely: its session is dropped.
    for (const c of conns) c.destroy();
    await Promise.all(readers.map((r) => r.return(undefined).catch(() => undefined)));
  }
}
