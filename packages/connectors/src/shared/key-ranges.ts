/**
 * A table read in ranges of its integer primary key (mysql, postgres): the ranges one process
 * reads at once (mysql's `with.partitions`) and the parts of a partitioned step, one per process.
 * Keys travel as decimal text, so unsigned BIGINT keys stay exact.
 */
import { ErrorCode, type Json, SluiceError } from '@sluice/core';

/**
 * One key range of a read: keys `from`..`to`, and the last key read from it, null before the
 * first. A checkpoint holds them, so a resumed read takes up each range after its own last key.
 */
export interface KeyRange {
  from: string;
  to: string;
  after: string | null;
}

/** A partitioned step's part of a table: the keys `from`..`to`, both included. */
export interface KeyPart {
  from: string;
  to: string;
}

/** Cuts `min`..`max` into `n` ranges of about equal width (fewer when there are fewer keys). */
export function cutRanges(min: bigint, max: bigint, n: number): KeyRange[] {
  const span = max - min + 1n;
  const parts = span < BigInt(n) ? Number(span) : n;
  const ranges: KeyRange[] = [];
  for (let i = 0; i < parts; i++) {
    const from = min + (span * BigInt(i)) / BigInt(parts);
    const to = i === parts - 1 ? max : min + (span * BigInt(i + 1)) / BigInt(parts) - 1n;
    ranges.push({ from: from.toString(), to: to.toString(), after: null });
  }
  return ranges;
}

/**
 * The parts of a table whose keys run from `lo` to `hi` (the MIN and MAX read as text; null for
 * an empty table, which has none). Keys added later beyond them are no part's: a part reads the
 * table as it was cut, as a whole read reads it as it was when it started.
 */
export function keyParts(lo: string | null | undefined, hi: string | null | undefined, n: number): Json[] {
  if (lo == null || hi == null) return [];
  return cutRanges(BigInt(lo), BigInt(hi), n).map(
    ({ from, to }): KeyPart => ({ from, to }),
  ) as unknown as Json[];
}

const INTEGER = /^-?\d+$/;

/** `ctx.part` as a KeyPart, checked: a part cut for another config fails rather than read wrong keys. */
export function toKeyPart(part: Json, where: string): KeyPart {
  const p = part as Partial<KeyPart> | null;
  const ok =
    p !== null &&
    typeof p === 'object' &&
    typeof p.from === 'string' &&
    typeof p.to === 'string' &&
    INTEGER.test(p.from) &&
    INTEGER.test(p.to) &&
    BigInt(p.from) <= BigInt(p.to);
  if (!ok)
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `${where}: the partition's part ${JSON.stringify(part)} is not a range of primary keys ({from, to} as ` +
        'decimal text); it was cut for another config or version of this step. Run the job again to cut the table anew',
    );
  return { from: p.from!, to: p.to! };
}

/** Why a SQL source's config cannot be cut into key ranges, or undefined. */
export function keyRangeRefusal(cfg: {
  query?: string | undefined;
  incremental?: unknown;
}): string | undefined {
  if (cfg.query !== undefined)
    return 'a query cannot be cut into key ranges; read a table (with.table) whose primary key is one integer column';
  if (cfg.incremental !== undefined)
    return (
      "incremental reads the rows after the last run's cursor in one ordered pass, which parts cannot share; " +
      "drop incremental, or the step's partitions"
    );
  return undefined;
}
