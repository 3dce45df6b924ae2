import { Type } from '@sinclair/typebox';
import { type ChunkStart, ErrorCode, type Issue, type Json, SluiceError } from '@sluice/core';
import { type BytePart, toBytePart } from '../shared/byte-parts.ts';
import { codecOf } from '../shared/compression.ts';
import { Resume, resumeState } from '../shared/resume-state.ts';
import type { CsvSourceConfig } from './config.ts';
import { CsvParser } from './parse.ts';
import type { CsvRows } from './rows.ts';

/** Saved with each checkpoint; the columns are kept because a resumed read never sees the header. */
export interface CsvPosition {
  offset: number;
  line: number;
  columns: string[];
}

/** The parser for `cfg` from `start` on, handing its records to `rows`. */
export function csvParser(
  cfg: CsvSourceConfig,
  where: string,
  rows: CsvRows,
  start: ChunkStart,
  newline: 'detect' | 'lf' = 'detect',
): CsvParser {
  const parser = new CsvParser(
    {
      delimiter: cfg.delimiter,
      quote: cfg.quote,
      skipEmptyLines: cfg.skipEmptyLines,
      lenientQuotes: cfg.lenientQuotes,
      encoding: cfg.encoding,
      startOffset: start.offset,
      startLine: start.line,
      where,
      newline,
    },
    rows,
  );
  rows.parser = parser;
  return parser;
}

/** The CSV source's `check`: quote and delimiter must tell fields, quotes and records apart. */
export function checkConfig(cfg: CsvSourceConfig): Issue[] {
  const issues: Issue[] = [];
  if (cfg.delimiter === cfg.quote) issues.push({ path: 'quote', message: 'must differ from delimiter' });
  for (const key of ['delimiter', 'quote'] as const) {
    if (cfg[key] === '\n' || cfg[key] === '\r') issues.push({ path: key, message: 'cannot be a line break' });
  }
  return issues;
}

/** Whether the configured file is read through a decompressor (which cannot seek to a chunk). */
export function compressed(cfg: CsvSourceConfig): boolean {
  return codecOf(cfg.path, cfg.compression) !== undefined;
}

/** A partition's byte range of the file, its start a CsvPosition (no columns: the file's start). */
export interface CsvPart extends BytePart {
  start: BytePart['start'] & { columns?: string[] };
}

/** `ctx.part` checked as a CsvPart. */
export function csvPart(part: Json, where: string): CsvPart {
  const p = toBytePart(part, where) as CsvPart;
  const cols: unknown = p.start.columns;
  if (
    cols !== undefined &&
    (!Array.isArray(cols) || cols.length === 0 || cols.some((c) => typeof c !== 'string'))
  )
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `${where}: the partition's part ${JSON.stringify(part)} names no columns its rows could have ` +
        "(start.columns must list the header's names). Run the job again to cut the input anew",
    );
  return p;
}

export const toPosition = resumeState(
  Type.Object({ offset: Resume.offset, line: Resume.line, columns: Resume.columns }),
  'source',
);

/**
 * Parses what the parser holds, pausing whenever `rows` holds a full batch; returns when the
 * parser needs more input (or has none left). Until the first record fixes the columns, records
 * are taken one at a time.
 */
export function* fullBatches(
  parser: CsvParser,
  rows: CsvRows,
  batchSize: number,
  signal: AbortSignal,
): Generator<void> {
  for (;;) {
    signal.throwIfAborted();
    const want = rows.columns === null ? 1 : batchSize - rows.rows.length;
    const got = parser.parse(want);
    if (rows.rows.length >= batchSize) yield;
    else if (got < want) return;
  }
}
