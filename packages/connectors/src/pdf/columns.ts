import { joinPieces, type Line, type Piece } from './lines.ts';

/**
 * Table columns from x positions. A table line is first cut into segments where its text is far
 * apart (runs closer than SEGMENT_GAP are words of one cell); columns are then found where the
 * segments of the table's lines line up, whatever their alignment (left, right or centred), and
 * each line is cut at the boundaries between them.
 */

// Runs further apart than this (of the font size) are separate cells: a space is 0.28.
const SEGMENT_GAP = 0.5;
// How far (in points) text may stray over a column boundary and still be in its column.
const SLACK = 1;

export interface Segment {
  readonly text: string;
  readonly x0: number;
  readonly x1: number;
}

/** The line's text in segments: pieces closer than a word gap are one segment. */
export function segments(line: Line): Segment[] {
  const out: Segment[] = [];
  let run: Piece[] = [];
  const flush = () => {
    if (run.length > 0) out.push({ text: joinPieces(run), x0: run[0]!.x0, x1: run[run.length - 1]!.x1 });
    run = [];
  };
  for (const p of line.pieces) {
    const prev = run[run.length - 1];
    if (prev && p.x0 - prev.x1 > SEGMENT_GAP * Math.min(p.size, prev.size)) flush();
    run.push(p);
  }
  flush();
  return out;
}

/**
 * Column boundaries found from `lines`: the most common number of segments a line has (the
 * larger on a tie) is the number of columns; across the lines with that many, each column spans
 * its segments' extent, and a boundary lies midway between one column's right edge and the next
 * one's left. Returns why there are none when those extents overlap (the text does not line up).
 */
export function findBoundaries(lines: readonly Line[]): number[] | string {
  const segs = lines.map(segments);
  const counts = new Map<number, number>();
  for (const s of segs) counts.set(s.length, (counts.get(s.length) ?? 0) + 1);
  let width = 0;
  let best = 0;
  for (const [n, c] of counts) {
    if (c > best || (c === best && n > width)) {
      width = n;
      best = c;
    }
  }
  const spans = Array.from({ length: width }, () => ({ x0: Number.POSITIVE_INFINITY, x1: 0 }));
  for (const s of segs) {
    if (s.length !== width) continue;
    s.forEach((seg, i) => {
      spans[i]!.x0 = Math.min(spans[i]!.x0, seg.x0);
      spans[i]!.x1 = Math.max(spans[i]!.x1, seg.x1);
    });
  }
  const boundaries: number[] = [];
  for (let i = 0; i + 1 < width; i++) {
    const left = spans[i]!;
    const right = spans[i + 1]!;
    if (left.x1 >= right.x0) {
      return (
        `columns ${i + 1} and ${i + 2} overlap (text of the first reaches x ${round(left.x1)}, the second ` +
        `starts at x ${round(right.x0)}) across the ${best} lines of ${width} cells`
      );
    }
    boundaries.push(round((left.x1 + right.x0) / 2));
  }
  return boundaries;
}

/** A line cut at `boundaries`: each column's text (empty where it has none), or why it cannot be. */
export function cutLine(line: Line, boundaries: readonly number[]): string[] | { crosses: string } {
  const cells: string[][] = Array.from({ length: boundaries.length + 1 }, () => []);
  for (const seg of segments(line)) {
    const slack = Math.min(SLACK, (seg.x1 - seg.x0) / 2);
    const first = columnOf(seg.x0 + slack, boundaries);
    const last = columnOf(seg.x1 - slack, boundaries);
    if (first !== last) {
      return {
        crosses:
          `the text ${JSON.stringify(seg.text)} (x ${round(seg.x0)}–${round(seg.x1)}) crosses the column ` +
          `boundary at x ${boundaries[first]}`,
      };
    }
    cells[first]!.push(seg.text);
  }
  return cells.map((c) => c.join(' '));
}

function columnOf(x: number, boundaries: readonly number[]): number {
  let c = 0;
  while (c < boundaries.length && x >= boundaries[c]!) c++;
  return c;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
