/**
 * Type inference for the text file sources (csv, json, ndjson): the first `inferRows` rows are
 * held back, a type is chosen per field from them, and every row, the held ones first, is then
 * cast as if that type had been declared in `schema:`. A value that does not fit quarantines its
 * row, naming the field and the inferred type.
 */
import { Type } from '@sinclair/typebox';
import type { ChunkedRead, ComponentContext, Json, Row, SourceBatch, SourceContext } from '@sluice/core';
import { SOURCE_LINE } from '@sluice/core';
import {
  CAST_TYPES,
  type Caster,
  type CastType,
  caster,
  describeCastFailure,
  isCastFailure,
} from './cast.ts';

/** What inference needs of a source's config. */
export interface InferConfig {
  infer: boolean;
  inferRows: number;
  schema?: Record<string, CastType> | undefined;
}

export const inferProperties = {
  infer: Type.Boolean({
    default: false,
    description:
      "Infer each field's type (integer, number, boolean, date, timestamp or string) from the first " +
      '`inferRows` rows, log it, and cast every row to it; a later value that does not fit sends its row ' +
      'to quarantine. Conservative: `007` keeps a field text, integers and decimals make a number, empty ' +
      'values decide nothing. Types declared in `schema` win. `sluice infer <spec>` prints the result.',
    examples: [true],
  }),
  inferRows: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 1000,
    description: 'Rows sampled by `infer` (held in memory until the types are known).',
    examples: [1000, 10000],
  }),
};

export const ColumnTypeSchema = Type.Union(
  CAST_TYPES.map((t) => Type.Literal(t)),
  {
    description:
      'string; integer (safe range); number (decimal); boolean (true/false, 1/0, yes/no); ' +
      'date (YYYY-MM-DD, kept as that string); timestamp (ISO 8601, read as UTC without an offset; becomes YYYY-MM-DDTHH:MM:SS.sssZ). ' +
      'The same rules as the cast transform.',
  },
);

/** The types found for a sample, and why the other fields were left as read. */
export interface InferredSchema {
  rows: number;
  types: Record<string, CastType>;
  undecided: Record<string, string>;
}

type Kind = CastType | 'nested' | 'other';

const INTEGER = /^-?(?:0|[1-9]\d{0,15})$/;
const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}/;
const isInteger = caster('integer');
const isNumber = caster('number');
const isDate = caster('date');
const isTimestamp = caster('timestamp');

/** What one value looks like; undefined for a value that decides nothing (null, missing, ''). */
function kindOf(v: unknown): Kind | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  switch (typeof v) {
    case 'string':
      // Leading zeros ("007", "00.5") are codes, not numbers: the field stays text.
      if (INTEGER.test(v)) return isCastFailure(isInteger(v)) ? 'string' : 'integer';
      if (DECIMAL.test(v)) return isCastFailure(isNumber(v)) ? 'string' : 'number';
      if (v.length <= 5 && (v.toLowerCase() === 'true' || v.toLowerCase() === 'false')) return 'boolean';
      if (DAY.test(v)) return isCastFailure(isDate(v)) ? 'string' : 'date';
      if (INSTANT.test(v)) return isCastFailure(isTimestamp(v)) ? 'string' : 'timestamp';
      return 'string';
    case 'number':
      return Number.isSafeInteger(v) ? 'integer' : 'number';
    case 'boolean':
      return 'boolean';
    case 'object':
      return v instanceof Date ? 'timestamp' : 'nested';
    default:
      return 'other';
  }
}

/** One type for the kinds a field showed, or why there is none. */
function decide(kinds: Set<Kind>, allText: boolean): CastType | string {
  if (kinds.size === 1) {
    const [k] = kinds;
    if (k === 'nested') return 'objects or arrays: flatten or unnest them, or cast them to string';
    if (k === 'other') return 'values that are not JSON';
    return k!;
  }
  if (kinds.size === 2 && kinds.has('integer') && kinds.has('number')) return 'number';
  if (kinds.size === 2 && kinds.has('date') && kinds.has('timestamp')) return 'timestamp';
  // Text that mixes shapes ("12", "n/a") is text; JSON values of several types are left as they are.
  if (allText) return 'string';
  return `mixed values (${[...kinds].sort().join(', ')})`;
}

/** Infers a type per field from `rows`; fields in `skip` (declared ones) are left out. */
export function inferSchema(rows: readonly Row[], skip: ReadonlySet<string> = new Set()): InferredSchema {
  const kinds = new Map<string, Set<Kind>>();
  const text = new Map<string, boolean>();
  for (const row of rows) {
    for (const field in row) {
      if (skip.has(field)) continue;
      let seen = kinds.get(field);
      if (seen === undefined) {
        seen = new Set();
        kinds.set(field, seen);
        text.set(field, true);
      }
      const v = row[field];
      const k = kindOf(v);
      if (k === undefined) continue;
      seen.add(k);
      if (typeof v !== 'string') text.set(field, false);
    }
  }
  const types: Record<string, CastType> = {};
  const undecided: Record<string, string> = {};
  for (const [field, seen] of kinds) {
    if (seen.size === 0) {
      undecided[field] = 'no value in the sample (only nulls or empty text)';
      continue;
    }
    const t = decide(seen, text.get(field)!);
    if ((CAST_TYPES as readonly string[]).includes(t)) types[field] = t as CastType;
    else undecided[field] = t;
  }
  return { rows: rows.length, types, undecided };
}

/** `id integer, amount number, note string` (and what was left as read), for the run log. */
export function describeSchema(s: InferredSchema): string {
  const typed = Object.entries(s.types).map(([f, t]) => `${f} ${t}`);
  const left = Object.keys(s.undecided);
  return (
    `${typed.join(', ') || 'no field typed'}` + (left.length > 0 ? `; left as read: ${left.join(', ')}` : '')
  );
}

/**
 * Casts rows in place to `types`; a row with a value that does not fit is quarantined (every
 * failing field named) and left out of the result. `why` ends each reason (where the type came from).
 */
export function rowCaster(
  ctx: ComponentContext<unknown>,
  types: Readonly<Record<string, CastType>>,
  why: string,
): (rows: Row[]) => Row[] {
  const names = Object.keys(types);
  const kinds = names.map((n) => types[n]!);
  // Empty text is null for every type but string, as in an unquoted CSV field.
  const casts: Caster[] = kinds.map((t) => caster(t, t === 'string' ? {} : { nullValues: [''] }));
  const n = names.length;
  const reject = (row: Row): void => {
    const reasons: string[] = [];
    for (let j = 0; j < n; j++) {
      const v = Object.hasOwn(row, names[j]!) ? row[names[j]!] : undefined;
      if (v === undefined) continue;
      const r = casts[j]!(v);
      if (isCastFailure(r)) reasons.push(describeCastFailure(names[j]!, v, kinds[j]!, r));
    }
    const reason = `${reasons.join('; ')} (${why})`;
    const line = row[SOURCE_LINE];
    ctx.quarantine(line === undefined ? { reason, row } : { reason, row, line });
  };
  return (rows) => {
    if (n === 0) return rows;
    let k = 0;
    next: for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      for (let j = 0; j < n; j++) {
        const name = names[j]!;
        const v = Object.hasOwn(row, name) ? row[name] : undefined;
        if (v === undefined) continue;
        const r = casts[j]!(v);
        if (r === v) continue;
        if (isCastFailure(r)) {
          reject(row);
          continue next;
        }
        // The source made this row for this batch alone: it is cast in place, no copy.
        row[name] = r;
      }
      rows[k++] = row;
    }
    rows.length = k;
    return rows;
  };
}

/** Reads the first `inferRows` rows of `read` (no more) and infers their schema. */
export async function sampleSchema<C extends InferConfig>(
  ctx: SourceContext<C>,
  read: (ctx: SourceContext<C>) => AsyncGenerator<SourceBatch>,
): Promise<InferredSchema> {
  const quiet: SourceContext<C> = {
    ...ctx,
    config: { ...ctx.config, infer: false },
    quarantine: () => undefined,
    setOrigin: () => undefined,
  };
  const sample: Row[] = [];
  const gen = read(quiet);
  try {
    for (let next = await gen.next(); !next.done; next = await gen.next()) {
      for (const row of next.value.rows) if (sample.length < ctx.config.inferRows) sample.push(row);
      if (sample.length >= ctx.config.inferRows) break;
    }
  } finally {
    await gen.return(undefined);
  }
  return inferSchema(sample, new Set(Object.keys(ctx.config.schema ?? {})));
}

type Read<C> = (ctx: SourceContext<C>) => AsyncGenerator<SourceBatch>;

function inferredWhy(rows: number): string {
  return `type inferred from the first ${rows} rows; declare the field in schema to choose its type`;
}

/** The casts for a source's rows: the declared schema (when the reader does not cast it itself), then the inferred one. */
function castsFor<C extends InferConfig>(
  ctx: ComponentContext<C>,
  castDeclared: boolean,
  inferred: InferredSchema | undefined,
): ((rows: Row[]) => Row[]) | undefined {
  const schema = castDeclared ? ctx.config.schema : undefined;
  const declared =
    schema && Object.keys(schema).length > 0 ? rowCaster(ctx, schema, 'type declared in schema') : undefined;
  const guessed =
    inferred && Object.keys(inferred.types).length > 0
      ? rowCaster(ctx, inferred.types, inferredWhy(inferred.rows))
      : undefined;
  if (declared && guessed) return (rows) => guessed(declared(rows));
  return declared ?? guessed;
}

function logInferred(ctx: ComponentContext<unknown>, s: InferredSchema): void {
  ctx.log.info(`types inferred from the first ${s.rows} rows: ${describeSchema(s)}`);
}

/**
 * Wraps a source's `read` with its `schema` (when `castDeclared`: csv casts its own) and `infer`.
 * The sample is held, not read twice: the input may be a pipe or a remote stream.
 */
export function typedRead<C extends InferConfig>(read: Read<C>, castDeclared: boolean): Read<C> {
  return async function* typed(ctx) {
    const cfg = ctx.config;
    if (!cfg.infer) {
      const cast = castsFor(ctx, castDeclared, undefined);
      if (cast === undefined) yield* read(ctx);
      else for await (const b of read(ctx)) yield { ...b, rows: cast(b.rows) };
      return;
    }
    const gen = read(ctx);
    try {
      const held: SourceBatch[] = [];
      let count = 0;
      let next = await gen.next();
      for (; !next.done; next = await gen.next()) {
        held.push(next.value);
        count += next.value.rows.length;
        if (count >= cfg.inferRows) break;
      }
      const sample = held.flatMap((b) => b.rows).slice(0, cfg.inferRows);
      const inferred = inferSchema(sample, new Set(Object.keys(cfg.schema ?? {})));
      logInferred(ctx, inferred);
      const cast = castsFor(ctx, castDeclared, inferred) ?? ((rows: Row[]) => rows);
      for (const b of held) yield { ...b, rows: cast(b.rows) };
      held.length = 0;
      if (next.done) return;
      for (next = await gen.next(); !next.done; next = await gen.next()) {
        yield { ...next.value, rows: cast(next.value.rows) };
      }
    } finally {
      await gen.return(undefined);
    }
  };
}

interface TypedShared {
  inner: Json;
  inferred: InferredSchema | null;
}

/**
 * The same for a source's parallel path: the main thread infers from the head of the file in
 * `split` (reading it once more: a chunked input is a file, which can be read again) and hands
 * the types to every chunk, so that all chunks cast alike.
 */
export function typedChunks<C extends InferConfig>(
  chunked: ChunkedRead<C>,
  read: Read<C>,
  castDeclared: boolean,
): ChunkedRead<C> {
  return {
    async split(ctx, minBytes) {
      const split = await chunked.split(ctx, minBytes);
      if (split === undefined) return undefined;
      const inferred = ctx.config.infer ? await sampleSchema(ctx, read) : undefined;
      if (inferred) logInferred(ctx, inferred);
      const shared: TypedShared = { inner: split.shared, inferred: inferred ?? null };
      return { ...split, shared: shared as unknown as Json };
    },
    *parse(ctx, chunk, start, shared) {
      const { inner, inferred } = shared as unknown as TypedShared;
      const cast = castsFor(ctx, castDeclared, inferred ?? undefined);
      for (const rows of chunked.parse(ctx, chunk, start, inner)) yield cast ? cast(rows) : rows;
    },
  };
}
