/**
 * A page's text as lines: pdfjs hands over text runs with their positions, in the order the PDF
 * draws them (which need not be reading order); lines are rebuilt from where the runs sit.
 */

/** The parts of a pdfjs TextItem this reads. */
export interface TextRun {
  readonly str: string;
  /** [a, b, c, d, x, y]: the run's text matrix; x, y is where its baseline starts. */
  readonly transform: readonly number[];
  readonly width: number;
}

/** A run of text on a line, in PDF points from the page's left edge. */
export interface Piece {
  readonly text: string;
  readonly x0: number;
  readonly x1: number;
  /** The font size: gaps are judged relative to it. */
  readonly size: number;
}

export interface Line {
  /** 1-based, from the top of the page. */
  readonly number: number;
  /** Pieces left to right. */
  readonly pieces: readonly Piece[];
  /** The pieces joined: a space where they are apart, nothing where they touch. */
  readonly text: string;
}

// Runs whose baselines differ by less than this share a line (a fraction of the font size, so
// small print and titles group alike; a superscript sits higher than this and makes its own line).
const SAME_LINE = 0.4;
// A gap wider than this (of the font size) between two runs is a space: a Helvetica space is 0.28.
const WORD_GAP = 0.15;

interface Placed extends Piece {
  readonly y: number;
}

/** The lines of a page, top to bottom, from its text runs; runs of whitespace only are dropped. */
export function toLines(runs: readonly TextRun[]): Line[] {
  const placed: Placed[] = [];
  for (const r of runs) {
    const text = r.str.trim();
    if (text === '') continue;
    const [a = 0, b = 0, c = 0, d = 0, x = 0, y = 0] = r.transform;
    const size = Math.hypot(c, d) || Math.hypot(a, b) || 1;
    // pdfjs trims nothing: leading spaces inside the run move its visible start right.
    const lead = r.str.length - r.str.trimStart().length;
    const perChar = r.str.length > 0 ? r.width / r.str.length : 0;
    const x0 = x + lead * perChar;
    const x1 = x + r.width - (r.str.length - r.str.trimEnd().length) * perChar;
    placed.push({ text, x0, x1: Math.max(x1, x0), size, y });
  }
  // Top to bottom (PDF y grows upwards), then left to right.
  placed.sort((p, q) => q.y - p.y || p.x0 - q.x0);
  const groups: Placed[][] = [];
  for (const p of placed) {
    const group = groups[groups.length - 1];
    const first = group?.[0];
    if (group && first && Math.abs(first.y - p.y) < SAME_LINE * Math.min(first.size, p.size)) group.push(p);
    else groups.push([p]);
  }
  return groups.map((g, i) => {
    const pieces: Piece[] = g
      .sort((p, q) => p.x0 - q.x0)
      .map(({ text, x0, x1, size }) => ({ text, x0, x1, size }));
    return { number: i + 1, pieces, text: joinPieces(pieces) };
  });
}

/** Pieces as one text: a space between two that are apart, none between two that touch. */
export function joinPieces(pieces: readonly Piece[]): string {
  let text = '';
  let prev: Piece | undefined;
  for (const p of pieces) {
    if (prev !== undefined) text += p.x0 - prev.x1 > WORD_GAP * Math.min(p.size, prev.size) ? ' ' : '';
    text += p.text;
    prev = p;
  }
  return text;
}
