import { describe, expect, it } from 'vitest';
import { cutLine, findBoundaries } from './columns.ts';
import type { Line } from './lines.ts';
import { selectPages } from './pages.ts';

/** A line of pieces at [x0, x1], 10 points high. */
const line = (number: number, ...pieces: [string, number, number][]): Line => ({
  number,
  pieces: pieces.map(([text, x0, x1]) => ({ text, x0, x1, size: 10 })),
  text: pieces.map((p) => p[0]).join(' '),
});

describe('columns from x positions', () => {
  it('are found whatever the alignment: left-aligned text, right-aligned amounts', () => {
    const lines = [
      line(1, ['date', 50, 70], ['account', 150, 185], ['amount', 366, 400]),
      line(2, ['2026-01-01', 50, 101], ['ACME', 150, 178], ['1200.50', 361, 400]),
      line(3, ['2026-01-02', 50, 101], ['Beta', 150, 171], ['-3.00', 377, 400]),
      // A subtotal: fewer cells, which does not decide the columns.
      line(4, ['Total', 50, 75], ['1197.50', 361, 400]),
    ];
    expect(findBoundaries(lines)).toEqual([125.5, 273]);
    expect(cutLine(lines[3]!, [125.5, 273])).toEqual(['Total', '', '1197.50']);
  });

  it('joins the words of a cell drawn apart, and refuses text over a boundary', () => {
    const words = line(1, ['ACME', 150, 178], ['Corp', 181, 200], ['7', 395, 400]);
    expect(cutLine(words, [125, 273])).toEqual(['', 'ACME Corp', '7']);
    const spill = line(2, ['A long name', 150, 290]);
    expect(cutLine(spill, [125, 273])).toEqual({
      crosses: 'the text "A long name" (x 150–290) crosses the column boundary at x 273',
    });
  });

  it('are not found when the text does not line up', () => {
    const lines = [line(1, ['a', 50, 60], ['b', 100, 300]), line(2, ['c', 60, 250], ['d', 300, 310])];
    expect(findBoundaries(lines)).toMatch(/^columns 1 and 2 overlap/);
  });
});

describe('pages', () => {
  it('selects numbers and ranges, each page once, an open range to the end', () => {
    expect(selectPages('5,1-3,2', 9, 'w')).toEqual([1, 2, 3, 5]);
    expect(selectPages('7-', 9, 'w')).toEqual([7, 8, 9]);
    expect(selectPages('8-12', 9, 'w')).toEqual([8, 9]);
    expect(selectPages(undefined, 2, 'w')).toEqual([1, 2]);
    expect(() => selectPages('10', 9, 'w')).toThrow(/asks for page 10, but the document has 9 pages/);
  });
});
