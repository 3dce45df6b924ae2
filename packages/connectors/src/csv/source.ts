import { defineSource, type Json, type SourceBatch, type SourceContext } from '@sluice/core';
import { locationHost } from '../location/index.ts';
import { fileCredential } from '../location/options.ts';
import { checkBytePart } from '../shared/byte-parts.ts';
import { fileSourceConnection } from '../shared/file-check.ts';
import { openFileInput } from '../shared/file-input.ts';
import { overFiles } from '../shared/file-set.ts';
import { withType } from '../shared/known-columns.ts';
import { type TypedOptions, typedChunks, typedPartitions, typedRead } from '../shared/typed-read.ts';
import { builtinWorker } from '../shared/worker-module.ts';
import { csvChunks } from './chunks.ts';
import { type CsvSourceConfig, csvSourceConfig } from './config.ts';
import { csvPartitions } from './partitions.ts';
import { CsvRows } from './rows.ts';
import {
  type CsvPosition,
  checkConfig,
  compressed,
  csvParser,
  csvPart,
  fullBatches,
  toPosition,
} from './setup.ts';

// A quarantined row is written back as its record (for a replay to parse again): its values are
// still the text read, as a row is only cast once every value fits.
const typing: TypedOptions<CsvSourceConfig> = {
  castDeclared: false,
  raw: (row, cfg) => {
    if (cfg.fileField !== undefined) return undefined;
    const q = cfg.quote;
    const special = new RegExp(`[${escapeClass(cfg.delimiter)}${escapeClass(q)}\\r\\n]`);
    const cells = Object.values(row).map((v) => {
      const text = v === null || v === undefined ? '' : String(v);
      return special.test(text) ? `${q}${text.replaceAll(q, q + q)}${q}` : text;
    });
    return cells.join(cfg.delimiter);
  },
};

function escapeClass(c: string): string {
  return c.replace(/[\\\]^-]/g, '\\$&');
}

export const csvSource = defineSource({
  name: 'csv',
  version: '1.0.0',
  summary:
    'Reads CSV files (RFC 4180, optionally gzip or zstd compressed; local, S3, SFTP or HTTP; one file or a glob) as rows, with typed columns and resume.',
  config: csvSourceConfig,
  // Declared names only: a header is data, read at run time.
  columns: (c) =>
    c.columns === undefined
      ? undefined
      : [...c.columns, ...(c.fileField === undefined ? [] : [c.fileField])].map((n) =>
          withType(n, c.schema?.[n] ?? (c.infer ? undefined : 'string')),
        ),
  credentialSchema: fileCredential,
  connection: fileSourceConnection,
  server: (config) => locationHost(config.path, config),
  example: {
    path: 'data/orders.csv.gz',
    incremental: false,
    header: true,
    delimiter: ',',
    quote: '"',
    lenientQuotes: false,
    encoding: 'utf8',
    compression: 'auto',
    skipEmptyLines: true,
    infer: false,
    inferRows: 1000,
    schema: { id: 'integer', amount: 'number', created_at: 'timestamp' },
    nullValues: ['NULL'],
    batchSize: 4096,
    chunkSize: 1 << 20,
  },
  check: checkConfig,
  read: typedRead(overFiles(readCsv), typing),
  chunked: typedChunks(csvChunks, readCsv, typing),
  partitions: typedPartitions(csvPartitions, overFiles(readCsv)),
  worker: builtinWorker,
});

async function* readCsv(ctx: SourceContext<CsvSourceConfig>): AsyncGenerator<SourceBatch> {
  const cfg = ctx.config;
  const where = `${ctx.componentId} (${cfg.path})`;
  const part = ctx.part === undefined ? undefined : csvPart(ctx.part, where);
  const resume = ctx.resumeFrom === undefined ? undefined : toPosition(ctx.resumeFrom, where);
  // A part starts as a resumed read does: at a record, its line and the columns known (but for a
  // part of the whole file, which reads its header itself).
  const from = resume ?? part?.start;
  // Set up (and fail on a bad resume position or schema) before the file is opened.
  const rows = new CsvRows(ctx, where);
  // A part was cut where LF ends records, as the whole read's first record told.
  const newline = part?.start.columns ? 'lf' : 'detect';
  const parser = csvParser(cfg, where, rows, { offset: from?.offset ?? 0, line: from?.line ?? 1 }, newline);
  if (from?.columns) rows.setColumns(from.columns);
  const input = await openFileInput(cfg.path, {
    ctx,
    options: cfg,
    start: from?.offset ?? 0,
    ...(part ? { end: part.end } : {}),
    compression: cfg.compression,
    signal: ctx.signal,
    // zlib refuses output chunks under 64 bytes; smaller reads only make sense for plain files.
    chunkSize: compressed(cfg) ? Math.max(cfg.chunkSize, 64) : cfg.chunkSize,
    where: `${ctx.componentId}: config.path`,
    ...(part ? { checkEntry: (e) => checkBytePart(part, e.size, resume?.offset, e.url, where) } : {}),
  });
  ctx.setOrigin(input.path);
  const chunks = input.chunks[Symbol.asyncIterator]();
  try {
    const batchSize = cfg.batchSize;
    let lastOffset = -1;
    const batch = (): SourceBatch => {
      const offset = parser.offset;
      lastOffset = offset;
      const out = rows.rows;
      rows.rows = [];
      const progress = part
        ? { done: offset - part.start.offset, total: part.end - part.start.offset }
        : { done: input.codec ? input.bytesRead() : offset, total: input.size };
      // Before any record (an empty file) there are no columns to resume with: start over instead.
      if (rows.columns === null) return { rows: out, progress };
      const position: CsvPosition = { offset, line: parser.line, columns: rows.columns };
      return { rows: out, position: position as unknown as Json, progress };
    };
    const drain = function* (): Generator<SourceBatch> {
      for (const _ of fullBatches(parser, rows, batchSize, ctx.signal)) yield batch();
    };
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      ctx.signal.throwIfAborted();
      parser.write(next.value);
      yield* drain();
    }
    ctx.signal.throwIfAborted();
    parser.end();
    yield* drain();
    if (rows.rows.length > 0 || parser.offset !== lastOffset) yield batch();
  } finally {
    // Closes the file (and its decompressor) when the runner stops early, on abort or on an error.
    await chunks.return?.();
  }
}
