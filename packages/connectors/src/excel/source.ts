import { Type } from '@sinclair/typebox';
import { defineSource, type Json, type Row, type SourceBatch, type SourceContext } from '@sluice/core';
import { openFileInput } from '../shared/file-input.ts';
import { globPartitions } from '../shared/file-parts.ts';
import { overFiles } from '../shared/file-set.ts';
import { Resume, resumeState } from '../shared/resume-state.ts';
import { type ExcelSourceConfig, excelSourceConfig } from './config.ts';
import { openSheet } from './sheet.ts';
import { SheetTable } from './table.ts';

/** The sheet row number reached: a resumed read skips the rows up to it. */
type ExcelPosition = { row: number };

export const excelSource = defineSource({
  name: 'excel',
  version: '1.0.0',
  summary:
    'Reads one sheet of Excel workbooks (.xlsx; local, S3, SFTP or HTTP; one file or a glob) as rows, streaming: ' +
    'dates as ISO 8601 text, formulas as their cached results, error cells to quarantine.',
  config: excelSourceConfig,
  example: {
    path: 'data/orders.xlsx',
    incremental: false,
    sheet: 'Orders',
    header: true,
    headerRow: 1,
    batchSize: 1024,
  },
  read: overFiles(readExcel),
  partitions: globPartitions('data/*.xlsx'),
});

async function* readExcel(ctx: SourceContext<ExcelSourceConfig>): AsyncGenerator<SourceBatch> {
  const cfg = ctx.config;
  const where = `${ctx.componentId} (${cfg.path})`;
  const resume = ctx.resumeFrom === undefined ? undefined : toPosition(ctx.resumeFrom, where);
  const input = await openFileInput(cfg.path, {
    ctx,
    options: cfg,
    // A workbook is a zip already: never gunzipped, whatever its name.
    compression: 'none',
    signal: ctx.signal,
    chunkSize: 1 << 16,
    where: `${ctx.componentId}: config.path`,
  });
  ctx.setOrigin(input.path);
  const sheet = openSheet(input.chunks, cfg.sheet, input.path, ctx.signal);
  const table = new SheetTable(cfg, input.path, sheet, (e) => ctx.quarantine(e));
  let out: Row[] = [];
  // A zip cannot be entered part-way: a resumed read parses the sheet from its start again and
  // skips the rows its position covers (the header is read again to name the columns).
  let reached = resume?.row ?? 0;
  let yielded = -1;
  const batch = (): SourceBatch => {
    const rows = out;
    out = [];
    yielded = reached;
    const position: ExcelPosition = { row: reached };
    return {
      rows,
      position: position as unknown as Json,
      progress: { done: input.bytesRead(), total: input.size },
    };
  };
  try {
    for await (const rows of sheet.rows) {
      ctx.signal.throwIfAborted();
      for (const row of rows) {
        if (row.number < cfg.headerRow) continue;
        if (table.columns === undefined && table.fix(row)) continue;
        if (resume && row.number <= resume.row) continue;
        reached = row.number;
        const r = table.row(row);
        if (r !== undefined) out.push(r);
        if (out.length >= cfg.batchSize) {
          yield batch();
          // One parsed piece of XML can hold many batches: a cancel between them stops here.
          ctx.signal.throwIfAborted();
        }
      }
    }
    ctx.signal.throwIfAborted();
    if (out.length > 0 || reached !== yielded) yield batch();
  } finally {
    await sheet.rows.return(undefined);
  }
}

const toPosition = resumeState(Type.Object({ row: Resume.index }), 'source');
