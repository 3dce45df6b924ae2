import { type ComponentContext, ErrorCode, FatalError, type Row } from '@sluice/core';
import { parse as parseLossless } from 'lossless-json';
import type { CsvSourceConfig } from '../csv/config.ts';
import { CsvRows } from '../csv/rows.ts';
import { csvParser, fullBatches } from '../csv/setup.ts';
import { describeJson, NdjsonLines } from '../shared/json-lines.ts';
import { hasLossyNumber, numberLoss } from '../shared/json-numbers.ts';

export type PageFormat = 'json' | 'ndjson' | 'csv';

/** The format of a page: the configured one, else the response's Content-Type (JSON when it names none). */
export function formatOf(configured: 'auto' | PageFormat, contentType: string | null): PageFormat {
  if (configured !== 'auto') return configured;
  const type = (contentType ?? '').toLowerCase();
  if (/ndjson|jsonl|json-seq|x-json-stream/.test(type)) return 'ndjson';
  if (/text\/csv|application\/csv/.test(type)) return 'csv';
  return 'json';
}

/**
 * The JSON document of a page. One that does not parse fails the step: a server that sends a
 * broken page will most likely send it again, and skipping it would lose its records silently.
 * lossless-json finds where (JSON.parse's message may quote the text instead of a position).
 */
export function parseJsonPage(body: Buffer, page: string): unknown {
  const text = body.toString('utf8');
  try {
    const doc: unknown = JSON.parse(text);
    // A number a double would change (an id past 2^53, a long decimal) is kept exact, as its text,
    // as the ndjson source's `bigNumbers: string` keeps it: an API's ids must not change in transit.
    if (!hasLossyNumber(text, body, 0, body.length)) return doc;
    return parseLossless(text, null, {
      parseNumber: (literal) => (numberLoss(literal) === undefined ? Number(literal) : literal),
      // JSON.parse keeps the last of repeated keys; so must this.
      onDuplicateKey: (d) => d.newValue,
    });
  } catch (err) {
    let detail = (err as Error).message;
    try {
      parseLossless(text);
    } catch (precise) {
      detail = (precise as Error).message;
    }
    const at = /at position (\d+)/.exec(detail)?.[1];
    const where = at === undefined ? '' : ` (${lineColumn(text, Number(at))})`;
    throw new FatalError(
      `${page} is not valid JSON: ${detail}${where}; the server sent a broken page (${body.length} bytes)`,
      { code: ErrorCode.INTEGRITY, cause: err },
    );
  }
}

function lineColumn(text: string, position: number): string {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return `line ${line}, column ${position - start + 1}`;
}

/** The value at a dot path (`data.items`, `items.0.id`); undefined when any step is missing. */
export function valueAt(doc: unknown, path: string): unknown {
  let v = doc;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * The records of a JSON page: the array at `path`, or the body itself when it is an array and no
 * path is given. An object at `path` is one record. Items that are not objects go to quarantine.
 */
export function jsonRecords(
  doc: unknown,
  path: string | undefined,
  page: string,
  ctx: ComponentContext<unknown>,
): Row[] {
  const found = path === undefined ? doc : valueAt(doc, path);
  if (found === undefined || found === null) {
    if (path !== undefined) return [];
    throw new FatalError(`${page}: the response is empty (null); set records to where its records are`, {
      code: ErrorCode.CONFIG,
    });
  }
  if (!Array.isArray(found)) {
    if (typeof found === 'object' && path !== undefined) return [found as Row];
    const arrays = arrayPaths(doc);
    throw new FatalError(
      `${page}: the response is ${describeJson(found)}, not an array of records; set records to the path of ` +
        `its records${arrays.length > 0 ? ` (arrays found at: ${arrays.join(', ')})` : ''}`,
      { code: ErrorCode.CONFIG },
    );
  }
  const rows: Row[] = [];
  for (let i = 0; i < found.length; i++) {
    const item: unknown = found[i];
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) rows.push(item as Row);
    else
      ctx.quarantine({
        reason: `${page}, record ${i + 1} is ${describeJson(item)}, not a JSON object`,
        raw: JSON.stringify(item) ?? String(item),
      });
  }
  return rows;
}

/** Dot paths of the arrays in the first two levels of `doc`, to suggest a `records` path. */
function arrayPaths(doc: unknown, prefix = '', depth = 0): string[] {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || depth > 1) return [];
  return Object.entries(doc).flatMap(([k, v]) =>
    Array.isArray(v) ? [`${prefix}${k}`] : arrayPaths(v, `${prefix}${k}.`, depth + 1),
  );
}

/** The rows of an NDJSON page, parsed as the ndjson source parses files (bad lines to quarantine). */
export function ndjsonRecords(body: Buffer, ctx: ComponentContext<unknown>): Row[] {
  const lines = new NdjsonLines(ctx, { offset: 0, line: 1 }, Number.MAX_SAFE_INTEGER, {
    bigNumbers: 'string',
    maxDepth: 1000,
  });
  return [...lines.batches(body)].flat();
}

/** The rows of a CSV page with a header line, parsed as the csv source parses files (values stay text). */
export function csvRecords(body: Buffer, page: string, ctx: ComponentContext<unknown>): Row[] {
  // The csv source's options for a page: a header line, RFC 4180 quoting, text values.
  const config = {
    header: true,
    nullValues: [],
    path: page,
    delimiter: ',',
    quote: '"',
    skipEmptyLines: true,
    lenientQuotes: false,
    encoding: 'utf8',
  } as unknown as CsvSourceConfig;
  const rows = new CsvRows({ ...ctx, config }, page);
  const parser = csvParser(config, page, rows, { offset: 0, line: 1 });
  parser.write(body);
  parser.end();
  for (const _ of fullBatches(parser, rows, Number.MAX_SAFE_INTEGER, ctx.signal));
  return rows.rows;
}
