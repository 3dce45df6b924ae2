import { TextDecoder } from 'node:util';
import type { ChunkStart, ComponentContext, Row } from '@sluice/core';
import { SOURCE_LINE } from '@sluice/core';
import { JsonProblem, type JsonValueOptions, JsonValueReader } from './json-value.ts';

/** Characters of a bad line or element kept in its quarantine entry. */
export const RAW_LIMIT = 65536;
export const clip = (raw: string): string => (raw.length > RAW_LIMIT ? `${raw.slice(0, RAW_LIMIT)}…` : raw);

export function describeJson(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/**
 * Turns complete lines of NDJSON into rows: the parsing shared by the ndjson source's `read` and
 * its chunks on the parallel path. Bad lines go to quarantine with their line and byte offset.
 */
export class NdjsonLines {
  rows: Row[] = [];
  /** Byte offset of the first byte not yet consumed, and the number of its line. */
  offset: number;
  line: number;
  readonly #ctx: ComponentContext<unknown>;
  readonly #batchSize: number;
  readonly #values: JsonValueReader;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  /** `batchSize`: `region` pauses whenever this many rows wait in `rows`. */
  constructor(
    ctx: ComponentContext<unknown>,
    start: ChunkStart,
    batchSize: number,
    values: JsonValueOptions,
  ) {
    this.#ctx = ctx;
    this.offset = start.offset;
    this.line = start.line;
    this.#batchSize = batchSize;
    this.#values = new JsonValueReader(values);
  }

  /**
   * Reads the complete lines in `buf` (it ends with \n, or at the end of the file), pausing when a
   * batch is full. The text is decoded in one call; a newline byte never occurs inside a UTF-8
   * character, so the i-th \n of the text is the i-th 0x0A byte, which gives the exact byte
   * offset of every line.
   */
  *region(buf: Buffer, oneLine = false): Generator<void> {
    let text: string;
    try {
      text = this.#decoder.decode(buf);
    } catch {
      if (oneLine) {
        this.#reject(`line ${this.line} is not valid UTF-8`, buf.toString('utf8'), this.offset);
        this.offset += buf.length;
        this.line++;
        if (this.rows.length >= this.#batchSize) yield;
        return;
      }
      // Find the bad line(s) one at a time; the others are read as usual.
      for (let b = 0; b < buf.length; ) {
        const nl = buf.indexOf(10, b);
        const end = nl === -1 ? buf.length : nl + 1;
        yield* this.region(buf.subarray(b, end), true);
        b = end;
      }
      return;
    }
    const base = this.offset;
    let s = this.offset === 0 && text.charCodeAt(0) === 0xfeff ? 1 : 0;
    let b = 0;
    while (s < text.length || b < buf.length) {
      const e = text.indexOf('\n', s);
      const be = buf.indexOf(10, b);
      this.#take(text.slice(s, e === -1 ? text.length : e), buf, b, be === -1 ? buf.length : be);
      s = e === -1 ? text.length : e + 1;
      b = be === -1 ? buf.length : be + 1;
      this.offset = base + b;
      this.line++;
      if (this.rows.length >= this.#batchSize) {
        this.#ctx.signal.throwIfAborted();
        yield;
      }
    }
  }

  /** The rows of `buf`, batch by batch. */
  *batches(buf: Buffer): Generator<Row[]> {
    for (const _ of this.region(buf)) yield this.#takeRows();
    yield this.#takeRows();
  }

  #takeRows(): Row[] {
    const out = this.rows;
    this.rows = [];
    return out;
  }

  #reject(reason: string, raw: string, at: number): void {
    this.#ctx.quarantine({ reason, line: this.line, offset: at, raw: clip(raw) });
  }

  /** `text` is the line, `buf[from, to)` its bytes. */
  #take(text: string, buf: Buffer, from: number, to: number): void {
    const first = text.charCodeAt(0);
    // Blank lines (a lone \r too) separate nothing and are skipped.
    if (text.length === 0 || (first <= 32 && text.trim() === '')) return;
    let value: unknown;
    try {
      value = this.#values.read(text, buf, from, to);
    } catch (err) {
      this.#reject(`line ${this.line} is not valid JSON: ${(err as Error).message}`, text, this.offset);
      return;
    }
    if (value instanceof JsonProblem) {
      this.#reject(value.describe(`line ${this.line}`), text, this.offset);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.#reject(`line ${this.line} holds ${describeJson(value)}, not a JSON object`, text, this.offset);
      return;
    }
    (value as Row)[SOURCE_LINE] = this.line;
    this.rows.push(value as Row);
  }
}
