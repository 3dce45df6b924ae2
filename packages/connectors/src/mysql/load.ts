import type { Row } from '@sluice/core';
import { ByteWriter, MAX_NUMBER_BYTES, writeNumber } from '../shared/byte-writer.ts';
import { compilePick, type Pick } from '../shared/pick.ts';
import { writeTabText } from '../shared/tab-text.ts';
import { quoteId, sqlDateTime } from './ident.ts';
import type { TableColumn } from './table.ts';

/** A value MySQL cannot take as given; its row goes to quarantine with this reason. */
class LoadValueError extends Error {}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const BINARY = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
const DATETIME = new Set(['datetime', 'timestamp']);

/** How a column's values are written: what the encoder needs to know of the table. */
export type Kind = 'binary' | 'datetime' | 'plain';

export function kindsOf(columns: readonly string[], table: ReadonlyMap<string, TableColumn>): Kind[] {
  return columns.map((name) => {
    const c = table.get(name)!;
    return BINARY.has(c.dataType) ? 'binary' : DATETIME.has(c.dataType) ? 'datetime' : 'plain';
  });
}

/** The text of one non-null value for a column of `kind`, before escaping. */
function text(v: unknown, kind: Kind): string {
  switch (typeof v) {
    case 'string':
      if (kind === 'datetime') return sqlDateTime(v);
      if (kind === 'binary' && !BASE64.test(v))
        throw new LoadValueError('is not base64, which a binary column takes text as');
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw new LoadValueError(`is ${v}, which MySQL cannot store`);
      return String(v);
    case 'boolean':
      return v ? '1' : '0';
    case 'bigint':
      return v.toString();
    case 'object':
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) throw new LoadValueError('is an invalid Date');
        return sqlDateTime(v.toISOString());
      }
      if (v instanceof Uint8Array)
        return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
      return JSON.stringify(v);
    default:
      throw new LoadValueError(`is a ${typeof v}, which has no MySQL representation`);
  }
}

export interface LoadBatch {
  data: Buffer;
  rows: number;
  rejected: { index: number; reason: string }[];
}

const TAB = 0x09;
const LF = 0x0a;

/**
 * Encodes rows for `LOAD DATA LOCAL INFILE` (tab-separated, backslash escapes, `\N` for NULL) and
 * makes the statement that reads them. Binary columns travel as base64 text through a user
 * variable and FROM_BASE64, so no raw byte meets the utf8mb4 decoding of the file; timestamps
 * with a zone are converted to UTC wall time (the sessions' zone); booleans become 1 and 0.
 *
 * Strings of plain columns, finite numbers and booleans are written straight into bytes, as the
 * PostgreSQL COPY encoder writes them: building each line as a string and encoding it to UTF-8
 * was about a third of W6's CPU on one thread (measured, 500k rows). The bytes are views the
 * encoder never writes again unless `reuse` says their reader copied them.
 */
export class LoadEncoder extends ByteWriter {
  readonly #columns: readonly string[];
  readonly #kinds: readonly Kind[];
  readonly #pick: Pick;
  readonly #values: unknown[];

  /** Plain data, so that a worker thread can make one from the writer's encoder state. */
  constructor(columns: readonly string[], kinds: readonly Kind[]) {
    super();
    this.#columns = columns;
    this.#kinds = kinds;
    this.#pick = compilePick(columns);
    this.#values = new Array(columns.length);
  }

  statement(into: string): string {
    const targets = this.#columns.map((c, i) => (this.#kinds[i] === 'binary' ? `@b${i}` : quoteId(c)));
    const sets = this.#columns.flatMap((c, i) =>
      this.#kinds[i] === 'binary' ? [`${quoteId(c)} = FROM_BASE64(@b${i})`] : [],
    );
    return (
      `LOAD DATA LOCAL INFILE 'sluice-rows' INTO TABLE ${quoteId(into)} CHARACTER SET utf8mb4 ` +
      `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${targets.join(', ')})` +
      (sets.length > 0 ? ` SET ${sets.join(', ')}` : '')
    );
  }

  /** Rows as lines; a row with a value MySQL cannot take is left out and listed in `rejected`. */
  encode(rows: readonly Row[]): LoadBatch {
    const rejected: LoadBatch['rejected'] = [];
    const pick = this.#pick;
    const values = this.#values;
    for (let r = 0; r < rows.length; r++) {
      const mark = this.mark();
      pick(rows[r]!, values);
      const bad = this.#row(values);
      if (bad === undefined) continue;
      this.rewind(mark);
      rejected.push({ index: r, reason: bad });
    }
    return { data: this.take(), rows: rows.length - rejected.length, rejected };
  }

  /** Appends one line; returns why not (and leaves a part of it to rewind) when a value cannot go. */
  #row(values: readonly unknown[]): string | undefined {
    const kinds = this.#kinds;
    const n = values.length;
    for (let c = 0; c < n; c++) {
      const v = values[c];
      const kind = kinds[c]!;
      if (typeof v === 'string' && kind === 'plain') {
        this.reserve(v.length * 3 + 1);
        this.pos = writeTabText(this.slab, this.pos, v, true);
      } else if (typeof v === 'number' && Number.isFinite(v)) {
        this.reserve(MAX_NUMBER_BYTES + 1);
        this.pos = writeNumber(this.slab, this.pos, v);
      } else if (typeof v === 'boolean') {
        this.byte(v ? 0x31 : 0x30);
      } else if (v === null || v === undefined) {
        this.byte(0x5c);
        this.byte(0x4e);
      } else {
        let t: string;
        try {
          t = text(v, kind);
        } catch (err) {
          if (!(err instanceof LoadValueError)) throw err;
          return `field "${this.#columns[c]}" ${err.message}`;
        }
        this.reserve(t.length * 3 + 1);
        this.pos = writeTabText(this.slab, this.pos, t, true);
      }
      this.byte(c === n - 1 ? LF : TAB);
    }
    return undefined;
  }
}
