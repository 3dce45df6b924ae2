import type { ChunkedRead, ChunkSplit, Json, Row, SourceContext } from '@sluice/core';
import { openFileInput } from '../shared/file-input.ts';
import { oneFile } from '../shared/file-set.ts';
import { countLines } from '../shared/line-cut.ts';
import { remoteBytes } from '../shared/remote-bytes.ts';
import type { CsvSourceConfig } from './config.ts';
import { CsvCutter } from './cut.ts';
import { CsvRows } from './rows.ts';
import { type CsvPosition, compressed, csvParser, fullBatches, toPosition } from './setup.ts';

// The first record is read in pieces this big: enough for any header, little when it is short.
const PROBE_BYTES = 1 << 16;

/**
 * The CSV source on the parallel path, for one file wherever it is (a remote one is streamed to
 * the main thread, see remoteBytes). The main thread reads the first record itself (the header,
 * which fixes the columns, and the record terminator), then cuts the rest at record boundaries;
 * each chunk is parsed by the same CsvParser and CsvRows as `read` uses, started at the chunk's
 * offset and line with the columns known, exactly as a resumed read starts.
 */
export const csvChunks: ChunkedRead<CsvSourceConfig> = {
  async split(ctx, minBytes) {
    const cfg = ctx.config;
    // The cutter compares bytes: a delimiter or quote beyond ASCII is several bytes in UTF-8.
    if (
      !oneFile(cfg) ||
      compressed(cfg) ||
      cfg.delimiter.charCodeAt(0) > 0x7f ||
      cfg.quote.charCodeAt(0) > 0x7f
    )
      return undefined;
    const where = `${ctx.componentId} (${cfg.path})`;
    const resume = ctx.resumeFrom === undefined ? undefined : toPosition(ctx.resumeFrom, where);
    const from = { offset: resume?.offset ?? 0, line: resume?.line ?? 1 };
    const first = await firstRecord(ctx, where, from, resume, minBytes);
    if (first === undefined) return undefined;
    const { columns, end, size } = first;
    ctx.setOrigin(first.path);
    // A header is read here, once; without one (or on resume) the first chunk starts with the
    // record just read, whose bytes the cutter need not scan.
    const header = cfg.header && resume === undefined;
    const bytes = remoteBytes(ctx, first.path, size, `${ctx.componentId}: config.path`);
    return {
      path: first.path,
      ...(bytes ? { bytes } : {}),
      size,
      start: header ? end : from,
      shared: columns,
      batchRows: cfg.batchSize,
      cut: cutter(
        new CsvCutter(cfg.quote, cfg.delimiter, header ? 0 : end.offset - from.offset, cfg.lenientQuotes),
      ),
      lines: countLines,
      position: (at) => ({ offset: at.offset, line: at.line, columns }) satisfies CsvPosition as Json,
    } satisfies ChunkSplit;
  },

  *parse(ctx, chunk, start, shared) {
    const where = `${ctx.componentId} (${ctx.config.path})`;
    const rows = new CsvRows(ctx, where);
    rows.setColumns(shared as string[]);
    const parser = csvParser(ctx.config, where, rows, start, 'lf');
    parser.write(chunk);
    parser.end();
    for (const _ of fullBatches(parser, rows, ctx.config.batchSize, ctx.signal)) yield take(rows);
    yield take(rows);
  },
};

function take(rows: CsvRows): Row[] {
  const out = rows.rows;
  rows.rows = [];
  return out;
}

function cutter(c: CsvCutter): ChunkSplit['cut'] {
  return (buf, from) => c.cut(buf, from);
}

/**
 * Parses the first record from `from` on: the header (which names the columns) or the first data
 * record (which counts them). Undefined when the flow should read serially: too little left to
 * read, no record at all (an empty file), or records that end in CR alone (chunks are cut at LF).
 */
async function firstRecord(
  ctx: SourceContext<CsvSourceConfig>,
  where: string,
  from: { offset: number; line: number },
  resume: CsvPosition | undefined,
  minBytes: number,
) {
  const cfg = ctx.config;
  const input = await openFileInput(cfg.path, {
    ctx,
    options: cfg,
    start: from.offset,
    compression: 'none',
    signal: ctx.signal,
    chunkSize: PROBE_BYTES,
    where: `${ctx.componentId}: config.path`,
  });
  const chunks = input.chunks[Symbol.asyncIterator]();
  try {
    if (input.size - from.offset < minBytes) return undefined;
    // A data record read here is read again by the first chunk: nothing it holds is kept.
    const rows = new CsvRows({ ...ctx, quarantine: () => undefined }, where);
    const parser = csvParser(cfg, where, rows, from);
    if (resume) rows.setColumns(resume.columns);
    let got = 0;
    while (got === 0) {
      const next = await chunks.next();
      if (next.done) break;
      parser.write(next.value);
      got = parser.parse(1);
    }
    if (got === 0) {
      parser.end();
      got = parser.parse(1);
    }
    if (got === 0 || rows.columns === null || parser.newline !== 'lf') return undefined;
    return {
      columns: rows.columns,
      end: { offset: parser.offset, line: parser.line },
      size: input.size,
      path: input.path,
    };
  } finally {
    await chunks.return?.();
  }
}
