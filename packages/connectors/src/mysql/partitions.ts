import { ErrorCode, FatalError, type Json, type Row, type SourceContext } from '@sluice/core';
import { connect, type MyConnection, myError } from './conn.ts';
import { quoteId } from './ident.ts';
import type { Config } from './source.ts';
import { baseSelect } from './source.ts';
import { streamRows } from './stream.ts';
import { describeTable, primaryKeyColumns } from './table.ts';

/**
 * One key range of a partitioned read: keys `from`..`to` (decimal text, so unsigned BIGINT keys
 * stay exact), and the last key read from it, null before the first. The checkpoint holds all of
 * them, so a resumed read takes up each range after its own last key.
 */
interface Range {
  from: string;
  to: string;
  after: string | null;
}

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

/** Cuts `min`..`max` into `n` ranges of about equal width (fewer when there are fewer keys). */
export function cutRanges(min: bigint, max: bigint, n: number): Range[] {
  const span = max - min + 1n;
  const parts = span < BigInt(n) ? Number(span) : n;
  const ranges: Range[] = [];
  for (let i = 0; i < parts; i++) {
    const from = min + (span * BigInt(i)) / BigInt(parts);
    const to = i === parts - 1 ? max : min + (span * BigInt(i + 1)) / BigInt(parts) - 1n;
    ranges.push({ from: from.toString(), to: to.toString(), after: null });
  }
  return ranges;
}

/**
 * Reads the table's key ranges at once, one connection each, and yields their batches as they
 * come. At most one batch per range is waiting at any time, so memory holds `partitions` batches.
 * The position after each batch records every range's progress as of the batches yielded so far.
 */
export async function* readPartitions(
  ctx: SourceContext<Config>,
  conn: MyConnection,
): AsyncGenerator<{ rows: Row[]; position: Json; progress: { done: number } }> {
  const { partitions, batchSize, table } = ctx.config;
  const where = `read table ${table}`;
  let key: string;
  let ranges: Range[];
  const resume = ctx.resumeFrom as { ranges?: Range[]; rows?: number } | undefined;
  try {
    key = await primaryKey(ctx, conn);
    if (resume?.ranges) ranges = resume.ranges.map((r) => ({ ...r }));
    else {
      const [b] = await conn.query<{ lo: string | null; hi: string | null }[]>(
        `SELECT CAST(MIN(${quoteId(key)}) AS CHAR) AS lo, CAST(MAX(${quoteId(key)}) AS CHAR) AS hi FROM ${quoteId(table!)}`,
      );
      if (b?.lo == null || b.hi == null) return;
      ranges = cutRanges(BigInt(b.lo), BigInt(b.hi), partitions);
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
