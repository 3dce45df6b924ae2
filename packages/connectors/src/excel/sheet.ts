import { Readable } from 'node:stream';
import { ErrorCode, FatalError, SluiceError } from '@sluice/core';
import type { ReadCell } from './cells.ts';
import { exceljs } from './lib.ts';
import { holdEarlyEnd } from './zip-end.ts';

/** A row of the sheet as the streaming reader hands it over. */
export interface SheetRow {
  /** The sheet's row number (1-based; rows with no cell are absent from the file). */
  readonly number: number;
  /** Cells by 1-based column number; a column with no cell gives an empty one. */
  getCell(col: number): ReadCell & { readonly address: string };
  /** Highest column number with a cell in this row. */
  readonly cellCount: number;
}

/** What the streaming reader's worksheet has and its typings leave out. */
interface SheetReader {
  /** The sheet's parse events in arrays (rows among them), as the XML parser hands them over. */
  parse(): AsyncIterator<{ eventType: string; value: unknown }[]>;
  readonly id: number | string;
  readonly name?: string;
}

interface BookReader {
  [Symbol.asyncIterator](): AsyncIterator<SheetReader>;
  readonly model?: { sheets?: { name: string }[] };
  readonly properties?: { model?: { date1904?: boolean } };
}

export interface OpenedSheet {
  /** The rows, in order, in the arrays the reader parses them in. */
  rows: AsyncGenerator<SheetRow[]>;
  /** The sheet's name once found (its rows started), for cell references. */
  name(): string;
  /** Whether the workbook counts dates from 1904 (old Mac workbooks). */
  date1904(): boolean;
}

/**
 * Streams one sheet of an .xlsx workbook read from `chunks`: nothing but the sheet's rows and
 * the workbook's shared strings is held in memory. A sheet stored in the zip before the shared
 * strings or the workbook part (the streaming writer's order) is spooled by exceljs to a
 * temporary file first, then parsed; memory stays bounded either way.
 *
 * `sheet` is a name or a 1-based position in the workbook's sheet order. A sheet that is not
 * there fails with CONFIG naming the sheets there are.
 */
export function openSheet(
  chunks: AsyncIterable<Buffer>,
  sheet: string | number,
  file: string,
  signal: AbortSignal,
): OpenedSheet {
  const input = holdEarlyEnd(Readable.from(chunks, { objectMode: false }));
  // `pipe` (exceljs feeds its unzipper with it) does not pass the input's errors on: the unzip
  // would wait forever. Every wait on the reader is woken by the input's failure or an abort
  // instead. (Not Promise.race with one long-lived promise: each race leaves a reaction on it
  // that keeps the value it settled with alive, every row read, until the read ends.)
  let failure: { error: unknown } | undefined;
  let wake: ((err: unknown) => void) | undefined;
  const fail = (error: unknown): void => {
    failure ??= { error };
    wake?.(failure.error);
  };
  input.on('error', fail);
  const onAbort = () => fail(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const race = <T>(p: Promise<T>): Promise<T> =>
    failure !== undefined
      ? Promise.reject(failure.error)
      : new Promise<T>((resolve, reject) => {
          wake = reject;
          p.then(resolve, reject).finally(() => {
            wake = undefined;
          });
        });
  const next = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await race(p);
    } catch (err) {
      throw named(err, file);
    }
  };
  let reader: BookReader | undefined;
  let name = typeof sheet === 'string' ? sheet : `#${sheet}`;

  const matches = (ws: SheetReader): boolean => {
    const names = reader?.model?.sheets?.map((s) => s.name);
    // Without the workbook part yet, sheets are numbered by their part (sheet1.xml, ...).
    const position = ws.name !== undefined && names ? names.indexOf(ws.name) + 1 : Number(ws.id);
    return typeof sheet === 'string' ? ws.name === sheet : position === sheet;
  };

  async function* rows(): AsyncGenerator<SheetRow[]> {
    try {
      const ExcelJS = await exceljs();
      reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
        // Styles tell a date from a number (a date is a number with a date format).
        styles: 'cache',
        sharedStrings: 'cache',
        hyperlinks: 'ignore',
        worksheets: 'emit',
        entries: 'ignore',
      }) as unknown as BookReader;
      const sheets = reader[Symbol.asyncIterator]();
      for (;;) {
        const step = await next(sheets.next());
        if (step.done) break;
        const ws = step.value;
        if (!matches(ws)) {
          // Parsed through, not left to exceljs to skip: a sheet it spooled to a temporary file
          // (stored before the shared strings) is deleted under a read it still starts, an
          // uncaught ENOENT that would end the process.
          const skip = ws.parse();
          for (let r = await next(skip.next()); !r.done; r = await next(skip.next()));
          continue;
        }
        name = ws.name ?? name;
        // Whole arrays, not row by row: one await per parsed piece of XML instead of one per row.
        const it = ws.parse();
        for (let r = await next(it.next()); !r.done; r = await next(it.next())) {
          const rows = r.value.filter((e) => e.eventType === 'row').map((e) => e.value as SheetRow);
          if (rows.length > 0) yield rows;
        }
        return;
      }
      const there = reader.model?.sheets?.map((s) => JSON.stringify(s.name)) ?? [];
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${file}: no sheet ${typeof sheet === 'string' ? JSON.stringify(sheet) : `number ${sheet}`}; ` +
          `the workbook has ${there.length === 0 ? 'no sheets' : there.join(', ')}. Set config.sheet to one of them ` +
          '(a name, or a position from 1).',
      );
    } finally {
      // Ends the file's read (and the location's connections) however the read ends.
      signal.removeEventListener('abort', onAbort);
      input.destroy();
    }
  }

  return {
    rows: rows(),
    name: () => name,
    date1904: () => reader?.properties?.model?.date1904 === true,
  };
}

/** Names a zip or XML failure as a file that is not a workbook; other errors pass as they are. */
function named(err: unknown, file: string): unknown {
  if (err instanceof SluiceError || (err as Error)?.name === 'AbortError') return err;
  if (err instanceof Error && /signature|zip|invalid|unexpected end|FILE_ENDED/i.test(err.message)) {
    return new FatalError(
      `${file}: not a readable .xlsx workbook (${err.message}). Check that the file is an Excel 2007+ ` +
        'workbook (.xlsx, not .xls or .csv) and was copied whole.',
      { code: ErrorCode.CONFIG, cause: err },
    );
  }
  return err;
}
