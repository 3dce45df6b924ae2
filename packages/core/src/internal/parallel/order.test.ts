import { describe, expect, it } from 'vitest';
import { serialOrder } from './order.ts';

const e = (c: number, line?: number) => ({
  c,
  entry: { reason: `${c}@${line}`, ...(line === undefined ? {} : { line }) },
});
const reasons = (groups: ReturnType<typeof serialOrder>) => groups.map((g) => g.map((x) => x.entry.reason));

describe('serialOrder', () => {
  it('puts a chunk’s entries in batch order, the source’s before the transforms’ in each batch', () => {
    // Rows on lines 2..9, batches of 3 rows counted from 1 row before the chunk: batches end at
    // the 2nd, 5th and 8th row of the chunk (lines 3, 6 and 9); a record after that is in the next.
    const lines = Int32Array.from([2, 3, 4, 5, 6, 7, 8, 9]);
    const entries = [e(0, 5), e(0, 10), e(1, 2), e(1, 7), e(2, 4), e(1, 3)];
    expect(reasons(serialOrder(entries, lines, 1, 3))).toEqual([
      ['1@2', '1@3'],
      ['0@5', '2@4'],
      ['1@7'],
      ['0@10'],
    ]);
  });

  it('keeps the order it was given without lines, and an entry without a line with the one before', () => {
    expect(reasons(serialOrder([e(1, 9), e(0, 3)], undefined, 0, 2))).toEqual([['1@9', '0@3']]);
    const lines = Int32Array.from([1, 2, 3, 4]);
    expect(reasons(serialOrder([e(0, 4), e(2), e(1, 1)], lines, 0, 2))).toEqual([
      ['1@1'],
      ['0@4', '2@undefined'],
    ]);
    expect(serialOrder([], lines, 0, 2)).toEqual([]);
  });
});
