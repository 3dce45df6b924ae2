import { Type } from '@sinclair/typebox';
import { ErrorCode, FatalError, type SinkVerification, verifyMismatch } from '@sluice/core';

/** What the SQL sinks (postgres, sqlite) share: the write modes, their key, and their refusals. */

export type WriteMode = 'append' | 'truncate' | 'upsert';

// An enum, not a union of literals: a wrong value then reads "must be one of ...".
export const modeProperty = Type.Unsafe<WriteMode>({
  type: 'string',
  enum: ['append', 'truncate', 'upsert'],
  default: 'append',
  description:
    'append adds rows (a new run is refused while a run that was interrupted after committing rows can ' +
    'still resume: --resume it, or it would write those rows twice); truncate empties the table in the same transaction as the first rows (never ' +
    'on resume); upsert inserts or updates by `key` (the last row of a batch wins for a repeated key).',
});

export const keyProperty = Type.Optional(
  Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    uniqueItems: true,
    description:
      'Columns identifying a row, required for upsert; a primary key or unique index must cover them.',
  }),
);

/** Schema options of a SQL sink's config object: upsert needs `key`, checked with the rest of the config. */
export const upsertNeedsKey = {
  additionalProperties: false,
  if: { properties: { mode: { const: 'upsert' } }, required: ['mode'] },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable.
  then: { required: ['key'] },
} as const;

/**
 * The refusal of a fresh append while an interrupted run's checkpoint is still at the destination:
 * that run committed rows, and appending afresh would write them twice (an incremental source
 * starts again from the cursor of the last successful run).
 */
export function appendAfterInterruption(
  where: string,
  location: string,
  checkpoints: string,
  key: string,
  seq: number,
): FatalError {
  return new FatalError(
    `${where}: an earlier run of this step stopped after committing rows to ${location} ` +
      `(its checkpoint ${String(seq)} is still in ${checkpoints}); a new run in mode "append" would ` +
      'write them again. Continue that run with --resume (on the platform: retry its job), or, to append ' +
      `anyway, delete its checkpoint: DELETE FROM ${checkpoints} WHERE key = '${key.replaceAll("'", "''")}'`,
    { code: ErrorCode.CHECKPOINT },
  );
}

/**
 * A SQL sink's `partitions.check`: the partitions of a step write the table at once, each in its
 * own transactions, so only modes whose writes commute may (rows appended, rows merged by key).
 */
export function partitionedModeRefusal(mode: WriteMode, table: string): string | undefined {
  if (mode !== 'truncate') return undefined;
  return (
    `mode: truncate would empty ${table} in every partition's first transaction, deleting what the other ` +
    `partitions wrote; empty it in an earlier step (task: sql, TRUNCATE ${table}) and write here with mode: append`
  );
}

/** A 64-bit sum as 16 hex digits: the sums of the flushes wrap as the digests' SQL sum does not. */
export function hex64(sum: bigint): string {
  return BigInt.asUintN(64, sum).toString(16).padStart(16, '0');
}

/** Rows and the sum of their digests, as a SQL sink's content verification counts them. */
export interface Digest {
  rows: number;
  sum: bigint;
}

/**
 * A SQL sink's `verify: content` proof over an attempt's flushes: what each flush handed over and
 * what it then found in the table.
 */
export class ContentProof {
  #handed: Digest = { rows: 0, sum: 0n };
  #found: Digest = { rows: 0, sum: 0n };

  /**
   * Adds one flush's digests and throws, before the transaction commits (the runner then rolls it
   * back), when what the table holds is not what was handed to it.
   */
  add(handed: Digest, found: Digest, where: string, location: string): void {
    this.#handed = { rows: this.#handed.rows + handed.rows, sum: this.#handed.sum + handed.sum };
    this.#found = { rows: this.#found.rows + found.rows, sum: this.#found.sum + found.sum };
    if (handed.rows !== found.rows || handed.sum !== found.sum)
      throw verifyMismatch(where, location, this.verification());
  }

  verification(): SinkVerification {
    return {
      level: 'content',
      rowsHanded: this.#handed.rows,
      rowsFound: this.#found.rows,
      handed: hex64(this.#handed.sum),
      found: hex64(this.#found.sum),
    };
  }
}
