import type { QuarantineEntry } from '../../connector.ts';

type Entry = { c: number; entry: QuarantineEntry };

/**
 * A chunk's quarantine entries in the order the serial path records them, grouped by the batch of
 * `read` they would fall in. Serially, a batch's rows are parsed (the source sets bad records aside
 * as it meets them) and then pass each transform and sink in turn; a worker runs its whole chunk
 * through one component after the other. `lines` holds the source line of each row the source
 * emitted in this chunk, `rowsBefore` the rows emitted before it (since the run or resume began),
 * `batchRows` the rows per batch of `read`. Without `lines`, the entries stay as they are.
 */
export function serialOrder(
  entries: Entry[],
  lines: Int32Array | undefined,
  rowsBefore: number,
  batchRows: number,
): Entry[][] {
  if (entries.length === 0) return [];
  if (lines === undefined) return [entries];
  // A batch ends with its `batchRows`-th row; a record or row belongs to the first batch whose
  // last row is at its line or after it.
  const ends: number[] = [];
  for (let k = batchRows - 1 - (rowsBefore % batchRows); k < lines.length; k += batchRows)
    ends.push(lines[k]!);
  let last = 0;
  const keyed = entries.map((e, i) => {
    const line = e.entry.line;
    // An entry without a line (a sink's own) stays with the entry before it.
    if (line !== undefined) last = batchOf(ends, line);
    return { e, i, batch: last };
  });
  keyed.sort((a, b) => a.batch - b.batch || a.e.c - b.e.c || a.i - b.i);
  const groups: Entry[][] = [];
  let group: Entry[] = [];
  let batch = keyed[0]!.batch;
  for (const k of keyed) {
    if (k.batch !== batch) {
      groups.push(group);
      group = [];
      batch = k.batch;
    }
    group.push(k.e);
  }
  groups.push(group);
  return groups;
}

/** How many batch ends come before `line`: the index of the batch holding it. */
function batchOf(ends: number[], line: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ends[mid]! < line) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
