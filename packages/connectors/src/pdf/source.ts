import { Type } from '@sinclair/typebox';
import {
  compilePattern,
  defineSource,
  ErrorCode,
  FatalError,
  type Json,
  type Pattern,
  type Row,
  SOURCE_LINE,
  type SourceBatch,
  type SourceContext,
} from '@sluice/core';
import { fileCredential } from '../location/options.ts';
import { fileSourceConnection } from '../shared/file-check.ts';
import { openFileInput } from '../shared/file-input.ts';
import { globPartitions } from '../shared/file-parts.ts';
import { overFiles } from '../shared/file-set.ts';
import { Resume, resumeState } from '../shared/resume-state.ts';
import { checkPdfConfig, type PdfSourceConfig, pdfSourceConfig } from './config.ts';
import { openPdf } from './document.ts';
import type { Line } from './lines.ts';
import { selectPages } from './pages.ts';
import { type PageLines, PdfTable } from './table.ts';

/** The last line handed on: a resumed read goes on from the line after it. */
type PdfPosition = { page: number; line: number };

export const pdfSource = defineSource({
  name: 'pdf',
  version: '1.0.0',
  summary:
    'Reads the text of PDF files (local, S3, SFTP or HTTP; one file or a glob) as lines, or as a table cut ' +
    "into columns by the text's x positions; lines that do not fit the table go to quarantine with their page " +
    'and line. Scanned PDFs (pages without text) are refused, not read as empty.',
  config: pdfSourceConfig,
  credentialSchema: fileCredential,
  connection: fileSourceConnection,
  example: {
    path: 'reports/accounts.pdf',
    incremental: false,
    mode: 'tables',
    pages: '1-',
    startAfter: '^Account report',
    stopBefore: '^(Total|Page \\d+ of)',
    header: true,
    emptyCells: 'quarantine',
    batchSize: 1024,
  },
  check: checkPdfConfig,
  read: overFiles(readPdf),
  partitions: globPartitions('reports/*.pdf'),
});

async function* readPdf(ctx: SourceContext<PdfSourceConfig>): AsyncGenerator<SourceBatch> {
  const cfg = ctx.config;
  const where = `${ctx.componentId} (${cfg.path})`;
  const resume = ctx.resumeFrom === undefined ? undefined : toPosition(ctx.resumeFrom, where);
  const patterns = {
    startAfter: pattern(cfg.startAfter),
    stopBefore: pattern(cfg.stopBefore),
    match: pattern(cfg.match),
  };
  ctx.signal.throwIfAborted();
  const input = await openFileInput(cfg.path, {
    ctx,
    options: cfg,
    // A PDF compresses its own streams; a .gz around one is not a PDF this reads.
    compression: 'none',
    signal: ctx.signal,
    where: `${ctx.componentId}: config.path`,
  });
  ctx.setOrigin(input.path);
  // pdfjs needs the whole file: its cross-reference table is at the end.
  const pdf = await openPdf(await wholeFile(input.chunks), input.path);
  try {
    const pages = selectPages(cfg.pages, pdf.pageCount, where);
    // Every chosen page is read before any row is handed on: a scanned page must fail the step
    // before its first checkpoint, not after the pages before it were loaded.
    const regions: PageLines[] = [];
    const blank: number[] = [];
    for (const page of pages) {
      ctx.signal.throwIfAborted();
      const lines = await pdf.lines(page);
      if (lines.length === 0) blank.push(page);
      regions.push({ page, lines: region(lines, patterns.startAfter, patterns.stopBefore) });
    }
    if (blank.length > 0) throw scanned(input.path, blank, pages.length);
    const table =
      cfg.mode === 'tables'
        ? new PdfTable(cfg, regions, patterns.match, where, (e) => ctx.quarantine(e))
        : undefined;
    if (table && regions.every((r) => r.lines.length === 0)) {
      ctx.log.warn(`${where}: no table lines between startAfter and stopBefore on the pages read`);
    }
    const toRow = (page: number, line: Line): Row | undefined => {
      if (table) return table.row(page, line);
      if (patterns.match && !patterns.match.test(line.text)) return undefined;
      return { page, line: line.number, text: line.text, [SOURCE_LINE]: line.number };
    };

    let out: Row[] = [];
    let reached: PdfPosition | undefined = resume;
    let yielded: PdfPosition | undefined = resume;
    let pagesDone = 0;
    const batch = (): SourceBatch => {
      const rows = out;
      out = [];
      yielded = reached;
      return {
        rows,
        ...(reached === undefined ? {} : { position: reached as unknown as Json }),
        progress: { done: pagesDone, total: pages.length },
      };
    };
    for (const { page, lines } of regions) {
      for (const line of lines) {
        if (resume && (page < resume.page || (page === resume.page && line.number <= resume.line))) continue;
        reached = { page, line: line.number };
        const row = toRow(page, line);
        if (row !== undefined) out.push(row);
        if (out.length >= cfg.batchSize) {
          yield batch();
          ctx.signal.throwIfAborted();
        }
      }
      pagesDone++;
    }
    ctx.signal.throwIfAborted();
    if (out.length > 0 || reached !== yielded) yield batch();
  } finally {
    await pdf.close();
  }
}

/** The lines after the first matching `startAfter` and before the first matching `stopBefore`. */
function region(lines: Line[], startAfter: Pattern | undefined, stopBefore: Pattern | undefined): Line[] {
  const start = startAfter ? lines.findIndex((l) => startAfter.test(l.text)) + 1 : 0;
  const rest = lines.slice(start);
  const stop = stopBefore ? rest.findIndex((l) => stopBefore.test(l.text)) : -1;
  return stop < 0 ? rest : rest.slice(0, stop);
}

function pattern(source: string | undefined): Pattern | undefined {
  return source === undefined ? undefined : compilePattern(source);
}

function scanned(file: string, blank: number[], chosen: number): FatalError {
  const list = blank.length > 10 ? `${blank.slice(0, 10).join(', ')}, …` : blank.join(', ');
  const pagesWord = blank.length === 1 ? 'page' : `${blank.length} of the ${chosen} pages read:`;
  return new FatalError(
    `PDF ${file} has no text on ${pagesWord} ${list}: it is probably scanned; Sluice reads text PDFs only ` +
      '(OCR it first, e.g. with ocrmypdf). If those pages are meant to be blank, leave them out with config.pages.',
    { code: ErrorCode.CONFIG },
  );
}

async function wholeFile(chunks: AsyncIterable<Buffer>): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const c of chunks) {
    parts.push(c);
    total += c.length;
  }
  // A fresh buffer of its own, never a slice of Node's shared pool: pdfjs may take it over.
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return data;
}

const toPosition = resumeState(Type.Object({ page: Resume.line, line: Resume.line }), 'source');
