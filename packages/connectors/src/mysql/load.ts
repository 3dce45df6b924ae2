import type { Row } from '@sluice/core';
import { idList, quoteId, sqlDateTime } from './ident.ts';
import type { TableColumn } from './table.ts';

/** A value MySQL cannot take as given; its row goes to quarantine with this reason. */
class LoadValueError extends Error {}

const SPECIAL = /[\\\n\r\t\0]/;
const ESCAPES = /[\\\n\r\t\0]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0' };

/** LOAD DATA's default escaping (ESCAPED BY '\\'): most strings need none and go out as they are. */
function escapeField(s: string): string {
  return SPECIAL.test(s) ? s.replace(ESCAPES, (c) => ESCAPED[c]!) : s;
}

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

/**
 * Encodes rows for `LOAD DATA LOCAL INFILE` (tab-separated, backslash escapes, `\N` for NULL) and
 * makes the statement that reads them. Binary columns travel as base64 text through a user
 * variable and FROM_BASE64, so no raw byte meets the utf8mb4 decoding of the file; timestamps
 * with a zone are converted to UTC wall time (the sessions' zone); booleans become 1 and 0.
 */
export class LoadEncoder {
  readonly #columns: readonly string[];
  readonly #kinds: readonly Kind[];

  /** Plain data, so that a worker thread can make one from the writer's encoder state. */
  constructor(columns: readonly string[], kinds: readonly Kind[]) {
    this.#columns = columns;
    this.#kinds = kinds;
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

  /** For messages: the columns in the order the data has them. */
  get columnList(): string {
    return idList(this.#columns);
  }

  encode(rows: readonly Row[]): LoadBatch {
    const columns = this.#columns;
    const kinds = this.#kinds;
    const lines: string[] = [];
    const rejected: LoadBatch['rejected'] = [];
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      let line = '';
      let i = 0;
      try {
        for (; i < columns.length; i++) {
          const v = row[columns[i]!];
          if (i > 0) line += '\t';
          line += v === null || v === undefined ? '\\N' : escapeField(text(v, kinds[i]!));
        }
      } catch (err) {
        if (!(err instanceof LoadValueError)) throw err;
        rejected.push({ index: r, reason: `field "${columns[i]}" ${err.message}` });
        continue;
      }
      lines.push(line);
    }
    return {
      data: Buffer.from(lines.length > 0 ? `${lines.join('\n')}\n` : ''),
      rows: lines.length,
      rejected,
    };
  }
}
