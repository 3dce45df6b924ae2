import { Type } from '@sinclair/typebox';
import { ErrorCode, FatalError } from './errors.ts';

/** How far a sink proves what it wrote: see `verifyProperty`. */
export type VerifyLevel = 'count' | 'content';

/**
 * The `verify` option every sink's config holds. An enum, not a union of literals, so a wrong
 * value reads "must be one of ...".
 */
export const verifyProperty = Type.Unsafe<VerifyLevel>({
  type: 'string',
  enum: ['count', 'content'],
  default: 'count',
  description:
    "count: the destination's own acknowledgement of the rows written is compared with the rows handed " +
    "to the sink (COPY's row count; a file's bytes and re-counted records). content: the sink also " +
    'reads back what this run wrote and compares an order-independent checksum with what it handed ' +
    'over, before the data becomes visible (a database transaction commits, a file is renamed into ' +
    'place); a mismatch fails the step.',
});

/** What a sink proved about the rows it was handed. */
export interface SinkVerification {
  level: VerifyLevel;
  /** Rows the sink handed to the destination: received, less what it quarantined or merged by key. */
  rowsHanded: number;
  /**
   * Rows the destination holds of them: acknowledged (count) or read back (content). After a
   * resume, the rows of this attempt only: earlier attempts verified theirs before committing.
   */
  rowsFound: number;
  /**
   * content only: order-independent checksums of what the sink handed over and of what it read
   * back, both in the destination's own form (PostgreSQL: each row as the table types it; files:
   * each record's bytes), so the two compare with each other but not with the engine's row
   * checksum of the source.
   */
  handed?: string;
  found?: string;
}

/** The error of a sink that found at its destination something other than what it handed over. */
export function verifyMismatch(where: string, location: string, v: SinkVerification): FatalError {
  const counts =
    v.rowsHanded === v.rowsFound
      ? `${v.rowsHanded} rows both`
      : `handed ${v.rowsHanded} rows, found ${v.rowsFound}`;
  const sums = v.handed === undefined ? '' : `; checksum handed ${v.handed}, found ${v.found}`;
  return new FatalError(
    `${where}: verify ${v.level} failed for ${location}: ${counts}${sums}. Something between the sink ` +
      'and the stored data changed it (a trigger, a rule, another writer, the storage); the data was not ' +
      'made visible. Find what altered it, then run again.',
    { code: ErrorCode.INTEGRITY },
  );
}

/** The `verify` level of a sink's validated config (`count` when the sink has no such option). */
export function verifyLevelOf(config: unknown): VerifyLevel {
  return (config as { verify?: unknown } | null)?.verify === 'content' ? 'content' : 'count';
}
