/**
 * Cell values as exceljs hands them over (streaming reader) turned into row values, and row
 * values turned into what the streaming writer stores.
 */

/** What a read cell becomes: a row value, or the Excel error it holds (`#DIV/0!`). */
export type CellRead = { value: unknown } | { error: string };

/** The parts of an exceljs cell the reader looks at. */
export interface ReadCell {
  readonly value: unknown;
  readonly numFmt?: string | undefined;
  readonly model: { result?: unknown };
}

// Excel counts days from 1899-12-30 (1900 system) or 1904-01-01; 25569 is 1970-01-01 in the former.
const EPOCH_1900 = 25569;
const EPOCH_1904_SHIFT = 1462;
const DAY_MS = 86_400_000;

/**
 * Whether a number format shows a date. As exceljs decides it (quoted text and `[...]` sections
 * do not count), so a formula's cached result reads as a date exactly when a plain cell would.
 */
export function isDateFormat(fmt: string | undefined): boolean {
  if (!fmt) return false;
  return /[ymdhMsb]/.test(fmt.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, ''));
}

/** Whether a date format shows a time of day too; without one a cell is a date, `YYYY-MM-DD`. */
function hasTime(fmt: string | undefined): boolean {
  if (!fmt) return true;
  return /[hs]/i.test(fmt.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, ''));
}

function dateText(d: Date, fmt: string | undefined): string | undefined {
  if (Number.isNaN(d.getTime())) return undefined;
  const iso = d.toISOString();
  return hasTime(fmt) ? iso : iso.slice(0, 10);
}

/** A serial day number as the Date it stands for (the workbook's date system decides the epoch). */
export function serialToDate(serial: number, date1904: boolean): Date {
  return new Date(Math.round((serial - EPOCH_1900 + (date1904 ? EPOCH_1904_SHIFT : 0)) * DAY_MS));
}

/**
 * One cell as a row value: numbers, strings and booleans as they are; dates as ISO 8601 text
 * (a format without a time of day gives `YYYY-MM-DD`); a formula as its cached result; rich text
 * as its plain text; an error value (`#N/A`, or a formula whose result is one) as `{ error }`.
 */
export function readCell(cell: ReadCell, date1904: boolean): CellRead {
  const v = cell.value;
  if (v === null || v === undefined) return { value: null };
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return { value: v };
  if (v instanceof Date) {
    const text = dateText(v, cell.numFmt);
    return text === undefined ? { error: 'an invalid date' } : { value: text };
  }
  const o = v as Record<string, unknown>;
  if (typeof o.error === 'string') return { error: o.error };
  if (Array.isArray(o.richText)) {
    return { value: (o.richText as { text?: unknown }[]).map((r) => String(r.text ?? '')).join('') };
  }
  if ('formula' in o || 'sharedFormula' in o) return formulaResult(cell, date1904);
  // A cached hyperlink ({ text, hyperlink }): its text is what the cell shows.
  if ('text' in o) return readCell({ value: o.text, numFmt: cell.numFmt, model: {} }, date1904);
  return { value: JSON.stringify(v) };
}

/**
 * The streaming reader stores a formula's cached value as a number (parseFloat of the XML text),
 * so an error result (`<v>#DIV/0!</v>`) arrives as NaN on the cell model; the error text itself is
 * lost on the way. A formula saved without a cached value (never calculated) reads as null.
 */
function formulaResult(cell: ReadCell, date1904: boolean): CellRead {
  const r = cell.model.result ?? (cell.value as { result?: unknown }).result;
  if (r === undefined || r === null) return { value: null };
  if (typeof r === 'number') {
    if (Number.isNaN(r)) return { error: 'an error value (the formula result is an error such as #DIV/0!)' };
    if (isDateFormat(cell.numFmt)) {
      const text = dateText(serialToDate(r, date1904), cell.numFmt);
      return text === undefined ? { error: 'an invalid date' } : { value: text };
    }
    return { value: r };
  }
  return readCell({ value: r, numFmt: cell.numFmt, model: {} }, date1904);
}

/** Excel's limit on the text of one cell; a longer text makes a file Excel repairs on opening. */
export const MAX_CELL_TEXT = 32_767;

// Formats the source reads back as the same text: without a time of day a date is `YYYY-MM-DD`.
export const DATE_FORMAT = 'yyyy-mm-dd';
const TIMESTAMP_FORMAT = 'yyyy-mm-dd hh:mm:ss.000';

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A row value as a cell value for the writer. Dates stay text unless `asDate` (the column is in
 * `dateColumns`): then an ISO 8601 date or timestamp becomes an Excel date. Returns a string
 * naming the problem when the value cannot be stored.
 */
export function writeCell(
  v: unknown,
  asDate: boolean,
): { value: unknown; numFmt?: string } | { problem: string } {
  if (v === null || v === undefined) return { value: null };
  if (v instanceof Date) {
    return Number.isNaN(v.getTime())
      ? { problem: 'is an invalid date' }
      : { value: v, numFmt: TIMESTAMP_FORMAT };
  }
  if (asDate && typeof v === 'string') {
    const m = ISO_DATE.exec(v);
    const d = m ? new Date(m[4] === undefined ? `${v}T00:00:00Z` : m[8] ? v : `${v}Z`) : undefined;
    if (d === undefined || Number.isNaN(d.getTime())) {
      return {
        problem: `is listed in dateColumns but ${JSON.stringify(v)} is not an ISO 8601 date or timestamp`,
      };
    }
    return { value: d, numFmt: m?.[4] === undefined ? DATE_FORMAT : TIMESTAMP_FORMAT };
  }
  if (typeof v === 'number') return { value: Number.isFinite(v) ? v : String(v) };
  if (typeof v === 'bigint') return { value: Number.isSafeInteger(Number(v)) ? Number(v) : v.toString() };
  if (typeof v === 'boolean') return { value: v };
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  if (text === undefined) return { value: null };
  if (text.length > MAX_CELL_TEXT) {
    return { problem: `holds ${text.length} characters; an Excel cell holds at most ${MAX_CELL_TEXT}` };
  }
  return { value: text };
}
