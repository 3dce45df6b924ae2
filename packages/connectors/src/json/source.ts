import { TextDecoder } from 'node:util';
import { type Static, Type } from '@sinclair/typebox';
import {
  defineSource,
  ErrorCode,
  type Json,
  type Row,
  SluiceError,
  SOURCE_LINE,
  type SourceBatch,
  type SourceContext,
} from '@sluice/core';
import { fileCredential } from '../location/options.ts';
import { jsonFileSourceProperties } from '../ndjson/source.ts';
import { fileSourceConnection } from '../shared/file-check.ts';
import { openFileInput } from '../shared/file-input.ts';
import { globPartitions } from '../shared/file-parts.ts';
import { overFiles } from '../shared/file-set.ts';
import { clip, describeJson, RAW_LIMIT } from '../shared/json-lines.ts';
import { JsonProblem, JsonValueReader } from '../shared/json-value.ts';
import { Resume, resumeState } from '../shared/resume-state.ts';
import { typedPartitions, typedRead } from '../shared/typed-read.ts';

export const jsonSourceConfig = Type.Object(jsonFileSourceProperties, { additionalProperties: false });
export type JsonSourceConfig = Static<typeof jsonSourceConfig>;

/**
 * Where the next element starts being looked for: just after element `index - 1` (byte offset in
 * the decompressed text), on `line`. Index 0 means the start of the file.
 */
type JsonPosition = { offset: number; index: number; line: number };

export const jsonSource = defineSource({
  name: 'json',
  version: '1.0.0',
  summary:
    'Reads a file holding one JSON array of objects (optionally gzip or zstd compressed), streaming element by element; ' +
    'elements that are not objects go to quarantine.',
  config: jsonSourceConfig,
  credentialSchema: fileCredential,
  connection: fileSourceConnection,
  example: {
    path: 'data/customers.json',
    incremental: false,
    compression: 'auto',
    batchSize: 1024,
    chunkSize: 1 << 17,
    bigNumbers: 'quarantine',
    infer: true,
    inferRows: 1000,
    maxDepth: 1000,
  },
  read: typedRead(overFiles(readJson), { castDeclared: true }),
  partitions: typedPartitions(globPartitions<JsonSourceConfig>('data/*.json'), overFiles(readJson)),
});

enum S {
  BeforeArray,
  /** Just after `[`: an element or `]`. */
  First,
  /** Just after `,`: an element. */
  Next,
  InElement,
  AfterElement,
  Done,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

function isSpace(b: number): boolean {
  return b === 0x20 || b === NEWLINE || b === 0x0d || b === 0x09;
}

/**
 * Finds each top-level element of one JSON array in a byte stream without parsing it: it tracks
 * strings, escapes and bracket depth only, and hands each element's bytes to JSON.parse. Structural
 * bytes are ASCII and never occur inside a UTF-8 character, so bytes are scanned, not text.
 */
class ArrayScanner {
  rows: Row[] = [];
  /** Offset, element index and line after the last element (see JsonPosition). */
  offset: number;
  index: number;
  line: number;
  #state: S;
  #depth = 0;
  #inString = false;
  #escape = false;
  #pieces: Buffer[] = [];
  /** Bytes in #pieces. */
  #kept = 0;
  /** The element nests deeper than maxDepth: it is refused unparsed, and only its head is kept. */
  #tooDeep = false;
  #elemOffset = 0;
  #elemLine = 0;
  /** Where the current element starts in the chunk being scanned (0 when it began in an earlier one). */
  #start = 0;
  /** Absolute offset of the chunk being scanned. */
  #base: number;
  #lineNow: number;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  readonly #ctx: SourceContext<JsonSourceConfig>;
  readonly #where: string;
  readonly #values: JsonValueReader;
  readonly #maxDepth: number;

  constructor(ctx: SourceContext<JsonSourceConfig>, where: string, from: JsonPosition) {
    this.#ctx = ctx;
    this.#where = where;
    this.#values = new JsonValueReader(ctx.config);
    this.#maxDepth = ctx.config.maxDepth;
    this.offset = from.offset;
    this.index = from.index;
    this.line = from.line;
    this.#base = from.offset;
    this.#lineNow = from.line;
    this.#state = from.index === 0 ? S.BeforeArray : S.AfterElement;
  }

  /** Scans `chunk` from `i` until it ends or `limit` rows are taken; returns where it stopped. */
  scan(chunk: Buffer, i: number, limit: number): number {
    const len = chunk.length;
    while (i < len) {
      const state = this.#state;
      if (state === S.InElement) {
        i = this.#element(chunk, i);
        if (this.#state !== S.InElement && this.rows.length >= limit) return i;
        continue;
      }
      const b = chunk[i]!;
      if (isSpace(b)) {
        if (b === NEWLINE) this.#lineNow++;
        i++;
        continue;
      }
      if (state === S.BeforeArray) {
        // A UTF-8 byte order mark may precede the array.
        if (this.#base + i === 0 && b === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i += 3;
        else if (b === 0x5b) {
          this.#state = S.First;
          i++;
        } else throw this.#notArray(b);
      } else if (state === S.AfterElement) {
        if (b === 0x2c) this.#state = S.Next;
        else if (b === 0x5d) this.#state = S.Done;
        else throw this.#structure(`expected "," or "]" after element ${this.index - 1}`, b, i);
        i++;
      } else if (state === S.Done) {
        throw this.#structure('unexpected text after the closing "]"', b, i);
      } else if (b === 0x5d) {
        if (state === S.Next) throw this.#structure('a "," is followed by "]" (trailing comma)', b, i);
        this.#state = S.Done;
        i++;
      } else {
        this.#state = S.InElement;
        this.#elemOffset = this.#base + i;
        this.#elemLine = this.#lineNow;
        this.#pieces = [];
        this.#kept = 0;
        this.#tooDeep = false;
        this.#depth = 0;
        this.#start = i;
      }
    }
    if (this.#state === S.InElement) this.#keep(chunk.subarray(this.#start, len));
    this.#start = 0;
    return len;
  }

  /** Called once a chunk is fully scanned: offsets of the next chunk start after it. */
  advance(chunkLength: number): void {
    this.#base += chunkLength;
  }

  /** Checks that the array was closed. */
  end(): void {
    if (this.#state === S.Done) return;
    const what =
      this.#state === S.BeforeArray
        ? 'it is empty (expected a JSON array)'
        : `it ends inside the array, after ${this.index} element${this.index === 1 ? '' : 's'} ` +
          '(the closing "]" is missing: was the file cut short?)';
    throw new SluiceError(ErrorCode.CONFIG, `${this.#where}: cannot read the file: ${what}.`);
  }

  /** Scans inside an element; returns where it stopped (just after the element when it ends). */
  #element(chunk: Buffer, i: number): number {
    const len = chunk.length;
    let inString = this.#inString;
    let depth = this.#depth;
    let lines = 0;
    let end = -1;
    // An escape cut by the chunk boundary: its escaped byte opens this chunk.
    if (this.#escape) {
      this.#escape = false;
      i++;
    }
    while (i < len) {
      if (inString) {
        // A tight loop over the string: measured faster than indexOf jumps for row-sized strings.
        for (; i < len; i++) {
          const c = chunk[i]!;
          if (c === QUOTE) break;
          if (c === BACKSLASH) i++;
        }
        if (i >= len) {
          this.#escape = i > len;
          break;
        }
        inString = false;
        i++;
        if (depth === 0) {
          end = i;
          break;
        }
        continue;
      }
      const b = chunk[i]!;
      if (b === QUOTE) inString = true;
      else if (b === 0x7b || b === 0x5b) {
        if (++depth > this.#maxDepth) this.#tooDeep = true;
      } else if (b === 0x7d || b === 0x5d) {
        if (depth === 0) {
          end = i;
          break;
        }
        if (--depth === 0) {
          end = i + 1;
          break;
        }
      } else if (depth === 0 && (b === 0x2c || isSpace(b))) {
        end = i;
        break;
      } else if (b === NEWLINE) lines++;
      i++;
    }
    this.#inString = inString;
    this.#depth = depth;
    this.#lineNow += lines;
    return end === -1 ? len : this.#finish(chunk, end);
  }

  /** Holds a piece of the current element; of one that is too deep, only what the quarantine shows. */
  #keep(piece: Buffer): void {
    if (this.#tooDeep) piece = piece.subarray(0, Math.max(0, RAW_LIMIT - this.#kept));
    this.#pieces.push(piece);
    this.#kept += piece.length;
  }

  #finish(chunk: Buffer, end: number): number {
    this.#keep(chunk.subarray(this.#start, end));
    const bytes = this.#pieces.length === 1 ? this.#pieces[0]! : Buffer.concat(this.#pieces);
    this.#pieces = [];
    this.#state = S.AfterElement;
    if (this.#tooDeep) this.#refuseDeep(bytes);
    else this.#take(bytes);
    this.offset = this.#base + end;
    this.line = this.#lineNow;
    this.index++;
    return end;
  }

  #refuseDeep(head: Buffer): void {
    this.#ctx.quarantine({
      reason: `element ${this.index} (line ${this.#elemLine}) is nested deeper than maxDepth ${this.#maxDepth}`,
      line: this.#elemLine,
      offset: this.#elemOffset,
      raw: clip(head.toString('utf8')),
    });
  }

  #take(bytes: Buffer): void {
    const at = { line: this.#elemLine, offset: this.#elemOffset };
    const name = `element ${this.index} (line ${at.line})`;
    let text: string;
    try {
      text = this.#decoder.decode(bytes);
    } catch {
      this.#ctx.quarantine({
        reason: `${name} is not valid UTF-8`,
        ...at,
        raw: clip(bytes.toString('utf8')),
      });
      return;
    }
    let value: unknown;
    try {
      value = this.#values.read(text, bytes, 0, bytes.length);
    } catch (err) {
      this.#ctx.quarantine({
        reason: `${name} is not valid JSON: ${(err as Error).message}`,
        ...at,
        raw: clip(text),
      });
      return;
    }
    if (value instanceof JsonProblem) {
      this.#ctx.quarantine({ reason: value.describe(name), ...at, raw: clip(text) });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.#ctx.quarantine({
        reason: `${name} is ${describeJson(value)}, not an object`,
        ...at,
        raw: clip(text),
      });
      return;
    }
    (value as Row)[SOURCE_LINE] = at.line;
    this.rows.push(value as Row);
  }

  #notArray(b: number): SluiceError {
    const hint = b === 0x7b ? ' For one JSON object per line, use the ndjson source.' : '';
    return new SluiceError(
      ErrorCode.CONFIG,
      `${this.#where}: the file does not hold a JSON array: it starts with ${show(b)} on line ${this.#lineNow}, ` +
        `not "[".${hint}`,
    );
  }

  #structure(problem: string, b: number, i: number): SluiceError {
    return new SluiceError(
      ErrorCode.CONFIG,
      `${this.#where}: the file is not a well-formed JSON array: ${problem}, found ${show(b)} at line ` +
        `${this.#lineNow}, byte offset ${this.#base + i}. Fix the file (was it cut short, or were files concatenated?).`,
    );
  }
}

function show(b: number): string {
  return b >= 0x20 && b < 0x7f ? JSON.stringify(String.fromCharCode(b)) : `byte 0x${b.toString(16)}`;
}

async function* readJson(ctx: SourceContext<JsonSourceConfig>): AsyncGenerator<SourceBatch> {
  const cfg = ctx.config;
  const where = `${ctx.componentId} (${cfg.path})`;
  const from =
    ctx.resumeFrom === undefined ? { offset: 0, index: 0, line: 1 } : toPosition(ctx.resumeFrom, where);
  const input = await openFileInput(cfg.path, {
    ctx,
    options: cfg,
    start: from.offset,
    compression: cfg.compression,
    signal: ctx.signal,
    chunkSize: cfg.chunkSize,
    where: `${ctx.componentId}: config.path`,
  });
  ctx.setOrigin(input.path);
  const scanner = new ArrayScanner(ctx, where, from);
  const batchSize = cfg.batchSize;
  let yielded = from.index;
  const batch = (): SourceBatch => {
    const rows = scanner.rows;
    scanner.rows = [];
    yielded = scanner.index;
    const position: JsonPosition = { offset: scanner.offset, index: scanner.index, line: scanner.line };
    return {
      rows,
      position,
      progress: { done: input.codec ? input.bytesRead() : scanner.offset, total: input.size },
    };
  };
  try {
    for await (const chunk of input.chunks) {
      let i = 0;
      while (i < chunk.length) {
        ctx.signal.throwIfAborted();
        i = scanner.scan(chunk, i, batchSize);
        if (scanner.rows.length >= batchSize) yield batch();
      }
      scanner.advance(chunk.length);
    }
    ctx.signal.throwIfAborted();
    scanner.end();
    if (scanner.rows.length > 0 || scanner.index !== yielded) yield batch();
  } finally {
    scanner.rows = [];
  }
}

const checkPosition = resumeState(
  Type.Object({ offset: Resume.offset, index: Resume.index, line: Resume.line }),
  'source',
);

function toPosition(value: Json, where: string): JsonPosition {
  const p = checkPosition(value, where);
  // Before the first element the scanner has read nothing: a position claiming otherwise is bad.
  if (p.index === 0 && p.offset !== 0) {
    throw new SluiceError(
      ErrorCode.CHECKPOINT,
      `${where}: cannot resume from ${JSON.stringify(value)}: element 0 cannot start past offset 0. ` +
        'Run again without --resume (without resuming) to start over.',
    );
  }
  return { offset: p.offset, index: p.index, line: p.line };
}
