import type { Row } from '@sluice/core';

/**
 * Splits a batch read in the order of an incremental cursor column so that it never ends inside a
 * run of equal values: resuming means `WHERE col > last`, so the rest of such a run would be
 * skipped. The run is held back (`carry`) until the value changes; the caller prepends it to the
 * next batch, and hands on whatever is carried when the input ends.
 */
export function holdEqualRun(rows: Row[], col: string): { rows: Row[]; carry: Row[] } {
  if (rows.length === 0) return { rows, carry: [] };
  const value = rows[rows.length - 1]![col];
  let k = rows.length - 1;
  while (k > 0 && rows[k - 1]![col] === value) k--;
  return { rows: k === 0 ? [] : rows.slice(0, k), carry: rows.slice(k) };
}
