import { ErrorCode, SluiceError } from '@sluice/core';

/** One range of a `pages` setting; `to` undefined runs to the last page. */
interface PageRange {
  from: number;
  to: number | undefined;
}

const PART = /^\s*(\d+)\s*(?:(-)\s*(\d*))?\s*$/;

function parse(spec: string): PageRange[] | string {
  const ranges: PageRange[] = [];
  for (const part of spec.split(',')) {
    const m = PART.exec(part);
    if (!m) return `${JSON.stringify(part.trim())} is not a page or a range (write 3, 1-3 or 2-)`;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : m[3] === '' ? undefined : Number(m[3]);
    if (from < 1) return 'pages count from 1';
    if (to !== undefined && to < from) return `the range ${part.trim()} ends before it starts`;
    ranges.push({ from, to });
  }
  return ranges;
}

/** Why `spec` is not a valid `pages` setting, or null. */
export function pageRangesProblem(spec: string): string | null {
  const r = parse(spec);
  return typeof r === 'string' ? r : null;
}

/**
 * The pages `spec` selects in a document of `count` pages, ascending and each once; every page
 * when `spec` is undefined. A page or range start past the last page is an error: the document is
 * not the one the config was written for.
 */
export function selectPages(spec: string | undefined, count: number, where: string): number[] {
  if (spec === undefined) return Array.from({ length: count }, (_, i) => i + 1);
  const ranges = parse(spec);
  if (typeof ranges === 'string')
    throw new SluiceError(ErrorCode.CONFIG, `${where}: config.pages: ${ranges}`);
  const chosen = new Set<number>();
  for (const { from, to } of ranges) {
    if (from > count) {
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${where}: config.pages asks for page ${from}, but the document has ${count} page${count === 1 ? '' : 's'}; ` +
          'fix config.pages (an open range such as 2- reads to the last page)',
      );
    }
    for (let p = from; p <= Math.min(to ?? count, count); p++) chosen.add(p);
  }
  return [...chosen].sort((a, b) => a - b);
}
