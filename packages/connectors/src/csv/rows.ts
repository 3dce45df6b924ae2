import { type ComponentContext, ErrorCode, type Row, SluiceError, SOURCE_LINE } from '@sluice/core';
import {
  type Caster,
  type CastFailure,
  type CastType,
  caster,
  describeCastFailure,
  isCastFailure,
} from '../shared/cast.ts';
import { literalKey } from '../shared/pick.ts';
import { uniqueNames } from '../shared/unique-names.ts';
import type { CsvSourceConfig } from './config.ts';
import type { CsvParser, CsvRecordHandler } from './parse.ts';

type LineFn = (this: CsvRows, s: string, start: number, end: number, line: number) => boolean;
type BuildFn = (values: unknown[], line: number) => Row;

/** Turns records into rows; bad records go to quarantine with their line, offset and text. */
export class CsvRows implements CsvRecordHandler {
  rows: Row[] = [];
  columns: string[] | null = null;
  parser!: CsvParser;
  /** Installed once the columns are known. */
  line: LineFn | undefined = undefined;
  readonly #ctx: ComponentContext<CsvSourceConfig>;
  readonly #where: string;
  #build: BuildFn | null = null;
  #types: (CastType | null)[] | null = null;
  #casts: (Caster | null)[] | null = null;
  readonly #nulls: Set<string> | null;

  constructor(ctx: ComponentContext<CsvSourceConfig>, where: string) {
    this.#ctx = ctx;
    this.#where = where;
    this.#nulls = ctx.config.nullValues.length > 0 ? new Set(ctx.config.nullValues) : null;
  }

  setColumns(names: string[]): void {
    const cfg = this.#ctx.config;
    const columns = uniqueNames(names, (msg) => this.#ctx.log.warn(`${this.#where}: ${msg}`));
    const schema = cfg.schema ?? {};
    const unknown = Object.keys(schema).filter((c) => !columns.includes(c));
    if (unknown.length > 0) {
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${this.#ctx.componentId}: config.schema names ${unknown.map((c) => `"${c}"`).join(', ')}, ` +
          `not columns of ${cfg.path}. Its columns are: ${columns.join(', ')}.`,
        { issues: unknown.map((c) => ({ path: `config.schema.${c}`, message: 'no such column' })) },
      );
    }
    this.columns = columns;
    this.#build = compileBuild(columns);
    const typed = Object.keys(schema).length > 0;
    if (typed) {
      this.#types = columns.map((c) => (Object.hasOwn(schema, c) ? schema[c]! : null));
      // String columns need no cast: '' stays '' and text stays text.
      this.#casts = this.#types.map((t) => (t === null || t === 'string' ? null : caster(t)));
    }
    this.line = compileLine(columns, cfg.delimiter, this.#casts, this.#nulls);
  }

  record(fields: string[], line: number, quoted: boolean[] | null): void {
    const cfg = this.#ctx.config;
    if (this.columns === null) {
      if (cfg.header) {
        if (cfg.columns && cfg.columns.length !== fields.length) {
          throw new SluiceError(
            ErrorCode.CONFIG,
            `${this.#ctx.componentId}: config.columns lists ${cfg.columns.length} names but the header of ` +
              `${cfg.path} has ${fields.length} fields (${fields.join(', ')}). List one name per header field.`,
          );
        }
        this.setColumns(cfg.columns ?? fields);
        return;
      }
      this.setColumns(cfg.columns ?? fields.map((_, i) => `col${i + 1}`));
    }
    const n = this.columns!.length;
    if (fields.length !== n) {
      this.#reject(`expected ${n} fields but found ${fields.length}`, line);
      return;
    }
    const values: unknown[] = fields;
    const casts = this.#casts;
    const nulls = this.#nulls;
    if (casts !== null || nulls !== null) {
      for (let i = 0; i < n; i++) {
        const v = fields[i]!;
        const bare = quoted === null || quoted[i] !== true;
        if (bare && nulls?.has(v)) values[i] = null;
        else if (casts?.[i]) {
          const out = bare && v === '' ? null : casts[i]!(v);
          if (isCastFailure(out)) {
            this.castFailed(i, v, out, line);
            return;
          }
          values[i] = out;
        }
      }
    }
    this.rows.push(this.#build!(values, line));
  }

  /** Called by the compiled fast path. */
  castFailed(i: number, value: string, failure: CastFailure, line: number): void {
    this.#reject(describeCastFailure(this.columns![i]!, value, this.#types![i]!, failure), line);
  }

  malformed(reason: string, line: number): void {
    // Setting a bad header aside would make the next record the header: stop instead.
    if (this.columns === null && this.#ctx.config.header) {
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${this.#where}: the header (line ${line}) cannot be read: ${reason}`,
      );
    }
    this.#reject(reason, line);
  }

  #reject(reason: string, line: number): void {
    const raw = this.parser.recordRaw();
    this.#ctx.quarantine({
      reason,
      line,
      offset: this.parser.recordOffset(),
      // A never-closed quote swallows the rest of the file; keep enough of it to find the spot.
      raw: raw.length > 65536 ? `${raw.slice(0, 65536)}…` : raw,
    });
  }
}

/**
 * Rows are built by code generated from the columns so that they all share one hidden class.
 * SOURCE_LINE sits in the literal: assigning the symbol afterwards measured 5x slower.
 */
function compileBuild(columns: string[]): BuildFn {
  const props = columns.map((c, i) => `${literalKey(c)}: f[${i}]`).join(', ');
  return new Function('S', `return function build(f, line) { return { ${props}, [S]: line }; };`)(
    SOURCE_LINE,
  ) as BuildFn;
}

/**
 * Splits an unquoted record in place with indexOf, casts it and pushes its row; false when the
 * field count is off. In an unquoted record an empty value is never a quoted "", so it is null
 * for every typed column but string.
 */
function compileLine(
  columns: string[],
  delimiter: string,
  casts: (Caster | null)[] | null,
  nulls: Set<string> | null,
): LineFn {
  const d = JSON.stringify(delimiter);
  const last = columns.length - 1;
  let body = 'let i = start, j, x;\n';
  for (let k = 0; k < last; k++) {
    body += `j = s.indexOf(${d}, i); if (j === -1 || j >= end) return false; let v${k} = s.slice(i, j); i = j + 1;\n`;
  }
  body += `j = s.indexOf(${d}, i); if (j !== -1 && j < end) return false; let v${last} = s.slice(i, end);\n`;
  for (let k = 0; k <= last; k++) {
    const cast = casts?.[k] ? `(v${k} === '' ? null : C[${k}](v${k}))` : null;
    const value = nulls ? `(N.has(v${k}) ? null : ${cast ?? `v${k}`})` : cast;
    if (value === null) continue;
    body += `x = ${value};\n`;
    if (cast) body += `if (isFailure(x)) { this.castFailed(${k}, v${k}, x, line); return true; }\n`;
    body += `v${k} = x;\n`;
  }
  const props = columns.map((c, k) => `${literalKey(c)}: v${k}`).join(', ');
  body += `this.rows.push({ ${props}, [S]: line });\nreturn true;`;
  return new Function('S', 'C', 'N', 'isFailure', `return function line(s, start, end, line) {\n${body}\n};`)(
    SOURCE_LINE,
    casts,
    nulls,
    isCastFailure,
  ) as LineFn;
}
