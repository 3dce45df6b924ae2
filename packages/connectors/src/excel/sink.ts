import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  defineSink,
  ErrorCode,
  type Json,
  type Row,
  type SinkContext,
  type SinkVerification,
  type SinkWriter,
  SluiceError,
  SOURCE_LINE,
  verifyMismatch,
} from '@sluice/core';
import type ExcelJS from 'exceljs';
import { fileOutputIssues } from '../shared/file-sink-config.ts';
import { checkFinal } from '../shared/output-target.ts';
import { DATE_FORMAT, writeCell } from './cells.ts';
import { type ExcelSinkConfig, excelSinkConfig } from './config.ts';
import { RowSum } from './digest.ts';
import { exceljs } from './lib.ts';
import { type WorkbookTarget, workbookTarget } from './output.ts';
import { readBack } from './verify.ts';

/** Excel's limit on the rows of a sheet. */
const MAX_ROWS = 1_048_576;

type Book = InstanceType<typeof ExcelJS.stream.xlsx.WorkbookWriter>;
type Sheet = ReturnType<Book['addWorksheet']>;
type Cell = { value: unknown; numFmt?: string };

export const excelSink = defineSink({
  name: 'excel',
  version: '1.0.0',
  summary:
    'Writes rows to one sheet of an Excel workbook (.xlsx), streaming; published whole at the end of the ' +
    'step. Not resumable: a resumed step must be rerun from the start.',
  config: excelSinkConfig,
  example: {
    path: 'out/orders.xlsx',
    overwrite: true,
    sheet: 'Orders',
    header: true,
    dateColumns: ['ordered_on'],
    verify: 'count',
  },
  check: (cfg) => [
    ...fileOutputIssues(cfg),
    ...(/\.xlsx$/i.test(cfg.path)
      ? []
      : [
          {
            path: 'path',
            message: `${cfg.path} does not end in .xlsx, and Excel refuses to open a workbook named otherwise; name the file .xlsx`,
          },
        ]),
  ],
  async open(ctx: SinkContext<ExcelSinkConfig>): Promise<SinkWriter> {
    const cfg = ctx.config;
    const where = `${ctx.componentId}: config.path`;
    const dates = new Set(cfg.dateColumns ?? []);
    const content = cfg.verify === 'content';
    const handed = new RowSum();
    let target: WorkbookTarget | undefined;
    let file: WriteStream | undefined;
    let book: Book | undefined;
    let sheet: Sheet | undefined;
    let columns: string[] | undefined;
    // Rows added to the sheet, and those of them with no value (no cell: invisible when read back).
    let rows = 0;
    let blank = 0;

    const fix = (names: string[]): void => {
      columns = names;
      if (cfg.header) sheet!.addRow(names).commit();
    };

    /** The row's cells, or undefined when a value cannot be stored (the row goes to quarantine). */
    const cells = (row: Row): Cell[] | undefined => {
      const out: Cell[] = [];
      for (const column of columns!) {
        const cell = writeCell(row[column], dates.has(column));
        if ('problem' in cell) {
          ctx.quarantine({
            reason: `field "${column}" ${cell.problem}`,
            row,
            ...(row[SOURCE_LINE] === undefined ? {} : { line: row[SOURCE_LINE] }),
          });
          return undefined;
        }
        out.push(cell);
      }
      return out;
    };

    const add = (row: Cell[]): void => {
      if (rows + (cfg.header ? 1 : 0) >= MAX_ROWS) {
        throw new SluiceError(
          ErrorCode.CONFIG,
          `${ctx.componentId}: output row ${rows + 1} does not fit: an Excel sheet holds at most ${MAX_ROWS} ` +
            'rows. Split the output (a filter per file) or write csv instead.',
        );
      }
      const r = sheet!.addRow(row.map((c) => c.value));
      row.forEach((c, i) => {
        if (c.numFmt !== undefined) r.getCell(i + 1).numFmt = c.numFmt;
      });
      r.commit();
      rows++;
      // As the source reads it back: dates as ISO text, a date-only format as YYYY-MM-DD.
      // Excel keeps no empty text: '' reads back as an empty cell.
      const seen = row.map(({ value: v, numFmt }) =>
        v instanceof Date
          ? numFmt === DATE_FORMAT
            ? v.toISOString().slice(0, 10)
            : v.toISOString()
          : v === ''
            ? null
            : v,
      );
      if (seen.every((v) => v === null)) blank++;
      else if (content) handed.add(seen);
    };

    return {
      async start(resume) {
        if (resume !== undefined) {
          throw new SluiceError(
            ErrorCode.CHECKPOINT,
            `${ctx.componentId}: cannot resume: the excel sink writes a workbook (a zip) that cannot be ` +
              'continued after a crash, so it restarts its file. Rerun the step without --resume.',
          );
        }
        target = await workbookTarget(ctx, where);
        await checkFinal(target.final, cfg.overwrite, where);
        await mkdir(dirname(target.partial), { recursive: true });
        file = createWriteStream(target.partial);
        // A file that cannot be created fails the start, not a later write.
        await once(file, 'open');
        const { stream } = await exceljs();
        book = new stream.xlsx.WorkbookWriter({
          stream: file,
          useStyles: true,
          useSharedStrings: false,
        });
        sheet = book.addWorksheet(cfg.sheet);
        if (cfg.columns) fix(cfg.columns);
      },
      async write(batch) {
        ctx.signal.throwIfAborted();
        if (batch.length === 0) return;
        if (columns === undefined) fix(Object.keys(batch[0]!));
        const known = cfg.columns === undefined ? new Set(columns) : undefined;
        for (const row of batch) {
          if (known) {
            for (const k of Object.keys(row)) {
              if (known.has(k)) continue;
              throw new SluiceError(
                ErrorCode.CONFIG,
                `${ctx.componentId}: output row ${rows + 1} has field "${k}", which the first row did not ` +
                  `(columns: ${columns!.join(', ')}). Set config.columns to every field to write.`,
              );
            }
          }
          const values = cells(row);
          if (values !== undefined) add(values);
        }
        // The workbook streams to the file; wait when the file falls behind, so memory stays bounded.
        if (file!.writableNeedDrain) await once(file!, 'drain');
      },
      // A workbook cannot be reopened mid-way; the state only tells a resume that there is nothing to resume.
      commit: async () => ({ excel: 'restart', rows }) satisfies Json,
      async close() {
        const t = target!;
        sheet!.commit();
        const closed = once(file!, 'close');
        await book!.commit();
        await closed;
        const handle = await open(t.partial, 'r+');
        await handle.sync().finally(() => handle.close());
        const verification = await verify(t.partial);
        await checkFinal(t.final, cfg.overwrite, where);
        const bytes = (await stat(t.partial)).size;
        await t.final.publish(t.partial);
        return { rowsWritten: rows, bytes, location: t.final.name, verification };
      },
      async abort() {
        // Nothing of it can be resumed: the partial workbook is only in the way.
        file?.destroy();
        if (target) await rm(target.partial, { force: true });
      },
    };

    async function verify(partial: string): Promise<SinkVerification> {
      const found = await readBack(
        partial,
        cfg.sheet,
        cfg.header ? 2 : 1,
        columns?.length ?? 0,
        content,
        ctx.signal,
      );
      // A row whose every value is null has no cell: the sheet shows it as an empty row.
      const v: SinkVerification = { level: cfg.verify, rowsHanded: rows, rowsFound: found.rows + blank };
      let ok = found.rows + blank === rows;
      if (content) {
        v.handed = handed.sum;
        v.found = found.sum;
        ok &&= handed.sum === found.sum;
      }
      if (!ok) throw verifyMismatch(ctx.componentId, partial, v);
      return v;
    }
  },
});
