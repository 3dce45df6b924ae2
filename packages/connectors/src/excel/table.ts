import { ErrorCode, type QuarantineEntry, type Row, SluiceError, SOURCE_LINE } from '@sluice/core';
import { readCell } from './cells.ts';
import type { ExcelSourceConfig } from './config.ts';
import type { SheetRow } from './sheet.ts';

/** Turns sheet rows into named rows: the column names, then each row's values by them. */
export class SheetTable {
  columns: string[] | undefined;
  readonly #cfg: Pick<ExcelSourceConfig, 'header' | 'columns'>;
  readonly #quarantine: (e: QuarantineEntry) => void;
  readonly #sheet: () => string;
  readonly #date1904: () => boolean;
  readonly #file: string;

  constructor(
    cfg: Pick<ExcelSourceConfig, 'header' | 'columns'>,
    file: string,
    sheet: { name(): string; date1904(): boolean },
    quarantine: (e: QuarantineEntry) => void,
  ) {
    this.#cfg = cfg;
    this.#file = file;
    this.#sheet = () => sheet.name();
    this.#date1904 = () => sheet.date1904();
    this.#quarantine = quarantine;
  }

  /**
   * Fixes the columns from the first row read: with a header it is that row (and is not data:
   * returns true); without one, `columns` or col1..colN for this row's width.
   */
  fix(row: SheetRow): boolean {
    const given = this.#cfg.columns;
    if (!this.#cfg.header) {
      this.columns = given ?? Array.from({ length: Math.max(1, row.cellCount) }, (_, i) => `col${i + 1}`);
      return false;
    }
    const names: string[] = [];
    const at = new Map<string, string>();
    for (let c = 1; c <= row.cellCount; c++) {
      const cell = row.getCell(c);
      const read = readCell(cell, this.#date1904());
      const ref = `${this.#sheet()}!${cell.address}`;
      if ('error' in read) {
        throw new SluiceError(
          ErrorCode.CONFIG,
          `${this.#file}: header cell ${ref} holds ${read.error}, not a column name. Fix the cell, or set ` +
            'header: false with columns.',
        );
      }
      const text = read.value === null ? '' : String(read.value).trim();
      const name = text === '' ? `col${c}` : text;
      const before = at.get(name);
      if (before !== undefined && given === undefined) {
        throw new SluiceError(
          ErrorCode.CONFIG,
          `${this.#file}: header cells ${before} and ${ref} both name a column "${name}"; column names must ` +
            'differ. Rename one in the sheet, or set config.columns to names for every column.',
        );
      }
      at.set(name, ref);
      names.push(name);
    }
    // Cells that only carry formatting right of the last name are not columns.
    while (names.length > 0 && row.getCell(names.length).value == null) {
      names.pop();
    }
    if (given !== undefined && given.length !== names.length) {
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${this.#file}: config.columns names ${given.length} columns but the header row ` +
          `${this.#sheet()}!${row.number} has ${names.length}. List one name per header cell.`,
      );
    }
    if (names.length === 0) {
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${this.#file}: header row ${this.#sheet()}!${row.number} is empty. Set headerRow to the row of ` +
          'column names, or header: false.',
      );
    }
    this.columns = given ?? names;
    return true;
  }

  /**
   * The row's values by column, or undefined for a row with no value (skipped) or one sent to
   * quarantine (an error cell, or a value right of the last column).
   */
  row(row: SheetRow): Row | undefined {
    const columns = this.columns!;
    const out: Row = {};
    let empty = true;
    for (let c = 1; c <= Math.max(columns.length, row.cellCount); c++) {
      const cell = row.getCell(c);
      const read = readCell(cell, this.#date1904());
      const ref = `${this.#sheet()}!${cell.address}`;
      if ('error' in read) return this.#reject(row, `cell ${ref} holds ${read.error}`, out);
      if (c > columns.length) {
        if (read.value === null) continue;
        return this.#reject(
          row,
          `cell ${ref} holds a value right of the last column (${columns.length} columns); add a header ` +
            'for it or set config.columns',
          out,
        );
      }
      if (read.value !== null) empty = false;
      out[columns[c - 1]!] = read.value;
    }
    if (empty) return undefined;
    out[SOURCE_LINE] = row.number;
    return out;
  }

  #reject(row: SheetRow, reason: string, partial: Row): undefined {
    this.#quarantine({
      reason: `${reason} (sheet row ${row.number})`,
      line: row.number,
      raw: JSON.stringify(partial),
    });
    return undefined;
  }
}
