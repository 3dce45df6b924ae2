import {
  ErrorCode,
  type Pattern,
  type QuarantineEntry,
  type Row,
  SluiceError,
  SOURCE_LINE,
} from '@sluice/core';
import { uniqueNames } from '../shared/unique-names.ts';
import { cutLine, findBoundaries, segments } from './columns.ts';
import type { PdfSourceConfig } from './config.ts';
import type { Line } from './lines.ts';

/** The lines of one page that lie between `startAfter` and `stopBefore`. */
export interface PageLines {
  readonly page: number;
  readonly lines: readonly Line[];
}

/**
 * A table read from the lines of the chosen pages: its columns (given, or found from all its lines
 * at once so every page is cut alike), its field names, and each line as a row. Lines that are
 * not rows (`match`, a repeated header) are skipped; lines that do not fit go to quarantine.
 */
export class PdfTable {
  readonly fields: readonly string[];
  readonly #boundaries: readonly number[];
  readonly #header: { page: number; line: number; cells: string } | undefined;
  readonly #match: Pattern | undefined;
  readonly #emptyOk: boolean;
  readonly #pageField: string | undefined;
  readonly #quarantine: (e: QuarantineEntry) => void;

  constructor(
    cfg: PdfSourceConfig,
    regions: readonly PageLines[],
    match: Pattern | undefined,
    where: string,
    quarantine: (e: QuarantineEntry) => void,
  ) {
    this.#match = match;
    this.#emptyOk = cfg.emptyCells === 'null';
    this.#quarantine = quarantine;
    const first = regions.find((r) => r.lines.length > 0);
    const headerLine = cfg.header && first ? { page: first.page, line: first.lines[0]! } : undefined;
    const tableLines = regions.flatMap((r) =>
      r.lines.filter((l) => (r.page === headerLine?.page && l === headerLine.line) || this.#isRow(l)),
    );
    this.#boundaries = cfg.columns ?? boundaries(tableLines, where);
    const width = this.#boundaries.length + 1;
    let names: string[] | undefined;
    if (headerLine) {
      const cells = cutLine(headerLine.line, this.#boundaries);
      if (!Array.isArray(cells)) {
        throw new SluiceError(
          ErrorCode.CONFIG,
          `${where}: the header (page ${headerLine.page}, line ${headerLine.line.number}: ${JSON.stringify(headerLine.line.text)}) ` +
            `cannot be cut into the table's columns: ${cells.crosses}. Set config.columns to boundaries that fit it, ` +
            'or header: false with config.fields',
        );
      }
      this.#header = { page: headerLine.page, line: headerLine.line.number, cells: JSON.stringify(cells) };
      names = uniqueNames(cells);
    }
    if (cfg.fields !== undefined && cfg.fields.length !== width) {
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${where}: config.fields names ${cfg.fields.length} fields, but the table has ${width} columns ` +
          `(boundaries at x ${this.#boundaries.join(', ') || 'none'}); name one field per column, or set config.columns`,
      );
    }
    this.fields = cfg.fields ?? names ?? Array.from({ length: width }, (_, i) => `col${i + 1}`);
    this.#pageField = cfg.pageField;
    if (this.#pageField !== undefined && this.fields.includes(this.#pageField)) {
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${where}: config.pageField ${JSON.stringify(this.#pageField)} is also a column of the table ` +
          `(${this.fields.join(', ')}); choose another name`,
      );
    }
  }

  #isRow(line: Line): boolean {
    return this.#match === undefined || this.#match.test(line.text);
  }

  /** The row `line` of `page` holds, or undefined when it is no row or went to quarantine. */
  row(page: number, line: Line): Row | undefined {
    if (this.#header && page === this.#header.page && line.number === this.#header.line) return undefined;
    if (!this.#isRow(line)) return undefined;
    const cells = cutLine(line, this.#boundaries);
    if (!Array.isArray(cells)) return this.#reject(page, line, cells.crosses);
    // Reports repeat the column titles at the top of each page.
    if (this.#header && JSON.stringify(cells) === this.#header.cells) return undefined;
    const empty = this.fields.filter((_, i) => cells[i] === '');
    if (empty.length > 0 && !this.#emptyOk) {
      return this.#reject(
        page,
        line,
        `text in ${cells.length - empty.length} of the table's ${cells.length} columns (${empty.join(', ')} empty); ` +
          'set emptyCells: null to keep such lines, or match to skip them',
      );
    }
    const row: Row = {};
    this.fields.forEach((f, i) => {
      row[f] = cells[i] === '' ? null : cells[i];
    });
    if (this.#pageField !== undefined) row[this.#pageField] = page;
    row[SOURCE_LINE] = line.number;
    return row;
  }

  #reject(page: number, line: Line, problem: string): undefined {
    this.#quarantine({
      reason: `${problem} (page ${page}, line ${line.number})`,
      line: line.number,
      raw: line.text,
    });
    return undefined;
  }
}

function boundaries(lines: readonly Line[], where: string): number[] {
  if (lines.length === 0) return [];
  const found = findBoundaries(lines);
  if (Array.isArray(found)) return found;
  const sample = segments(lines[0]!)
    .map((s) => `${Math.round(s.x0)}–${Math.round(s.x1)}`)
    .join(', ');
  throw new SluiceError(
    ErrorCode.CONFIG,
    `${where}: the table's columns cannot be found from the text's positions: ${found}. Give them as ` +
      `config.columns, the x positions between columns (the first table line's text lies at x ${sample}), ` +
      'or narrow the lines read with startAfter, stopBefore and match',
  );
}
