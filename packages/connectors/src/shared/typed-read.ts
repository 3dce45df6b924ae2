/**
 * Typing a source's rows: the `schema:` it declares (when its reader does not cast it itself) and
 * the types `infer: true` finds (see infer.ts), on the serial path and the parallel one alike.
 */
import type {
  ChunkedRead,
  ComponentContext,
  Json,
  PartitionedRead,
  Row,
  SourceBatch,
  SourceContext,
} from '@sluice/core';
import { SOURCE_LINE } from '@sluice/core';
import { type Caster, type CastType, caster, describeCastFailure, isCastFailure } from './cast.ts';
import { describeSchema, type InferConfig, type InferredSchema, inferSchema, sampleSchema } from './infer.ts';

/** Casts one row in place; false when a value does not fit (the row is then left as it was read). */
type CastRow = (row: Row) => boolean;

/**
 * The cast of a row to `types`, as code generated for them: named property loads and stores stay
 * monomorphic over a source's rows, where `row[name]` in a loop over the names measured 3x slower
 * than the source's own declared-schema path (1M CSV rows: 8.5 s against 2.9 s).
 */
function compileCastRow(names: string[], types: CastType[], casts: Caster[]): CastRow {
  let body = '';
  let commit = '';
  names.forEach((name, j) => {
    const key = JSON.stringify(name);
    // A field named like an Object.prototype member is read only when the row has it.
    const read =
      name in Object.prototype ? `(Object.hasOwn(row, ${key}) ? row[${key}] : undefined)` : `row[${key}]`;
    // Empty text is null for every type but string, as in an unquoted CSV field: compared here,
    // not looked up in a set of null values, which hashed every fresh string (measured 2x slower).
    const empty = types[j] === 'string' ? '' : `if (v${j} === '') r${j} = null; else `;
    body += `const v${j} = ${read}; let r${j} = v${j};\n`;
    body += `if (v${j} !== undefined && v${j} !== null) { ${empty}{ r${j} = C[${j}](v${j}); if (r${j} !== v${j} && isFailure(r${j})) return false; } }\n`;
    commit += `if (r${j} !== v${j}) row[${key}] = r${j};\n`;
  });
  // Values are stored once every one fits: a quarantined row is left as it was read.
  body += `${commit}return true;`;
  return new Function('C', 'isFailure', `return function castRow(row) {\n${body}\n};`)(
    casts,
    isCastFailure,
  ) as CastRow;
}

/**
 * Casts rows in place to `types`; a row with a value that does not fit is quarantined (every
 * failing field named) and left out of the result. `why` ends each reason (where the type came
 * from). `text`: the rows hold only strings and nulls (csv), so string fields need no cast. `raw`:
 * the record's text, for an entry the quarantine can parse again when it is replayed.
 */
export function rowCaster(
  ctx: ComponentContext<unknown>,
  types: Readonly<Record<string, CastType>>,
  why: string,
  text = false,
  raw?: (row: Row) => string | undefined,
): (rows: Row[]) => Row[] {
  const names = Object.keys(types).filter((f) => !(text && types[f] === 'string'));
  const kinds = names.map((n) => types[n]!);
  const casts: Caster[] = kinds.map((t) => caster(t));
  const n = names.length;
  const castRow = compileCastRow(names, kinds, casts);
  const reject = (row: Row): void => {
    const reasons: string[] = [];
    for (let j = 0; j < n; j++) {
      const v = Object.hasOwn(row, names[j]!) ? row[names[j]!] : undefined;
      if (v === undefined || (v === '' && kinds[j] !== 'string')) continue;
      const r = casts[j]!(v);
      if (isCastFailure(r)) reasons.push(describeCastFailure(names[j]!, v, kinds[j]!, r));
    }
    const reason = `${reasons.join('; ')} (${why})`;
    const line = row[SOURCE_LINE];
    const text = raw?.(row);
    ctx.quarantine({
      reason,
      row,
      ...(line === undefined ? {} : { line }),
      ...(text === undefined ? {} : { raw: text }),
    });
  };
  return (rows) => {
    if (n === 0) return rows;
    let k = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      // The source made this row for this batch alone: it is cast in place, no copy.
      if (castRow(row)) rows[k++] = row;
      else reject(row);
    }
    rows.length = k;
    return rows;
  };
}

type Read<C> = (ctx: SourceContext<C>) => AsyncGenerator<SourceBatch>;

/** How a source's rows are typed. */
export interface TypedOptions<C> {
  /** The reader does not cast `schema` itself (json, ndjson; csv does, in its parser). */
  castDeclared: boolean;
  /**
   * A quarantined row's record as the source would read it again (its `chunked.parse` does, when
   * the quarantine is replayed after a type was declared); undefined when it cannot be rebuilt.
   */
  raw?: (row: Row, config: C) => string | undefined;
}

function inferredWhy(rows: number): string {
  return `type inferred from the first ${rows} rows; declare the field in schema to choose its type`;
}

/** The casts for a source's rows: the declared schema (when the reader does not cast it itself), then the inferred one. */
function castsFor<C extends InferConfig>(
  ctx: ComponentContext<C>,
  { castDeclared, raw }: TypedOptions<C>,
  inferred: InferredSchema | undefined,
): ((rows: Row[]) => Row[]) | undefined {
  const schema = castDeclared ? ctx.config.schema : undefined;
  const rawOf = raw && ((row: Row) => raw(row, ctx.config));
  const declared =
    schema && Object.keys(schema).length > 0
      ? rowCaster(ctx, schema, 'type declared in schema', false, rawOf)
      : undefined;
  // A reader that casts its declared schema itself is a text reader (csv): its values are strings.
  const guessed =
    inferred && Object.keys(inferred.types).length > 0
      ? rowCaster(ctx, inferred.types, inferredWhy(inferred.rows), !castDeclared, rawOf)
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
export function typedRead<C extends InferConfig>(read: Read<C>, opts: TypedOptions<C>): Read<C> {
  return async function* typed(ctx) {
    const cfg = ctx.config;
    const planned = cfg.infer ? inferredOfPart(ctx.part) : undefined;
    if (!cfg.infer || planned) {
      if (planned) logInferred(ctx, planned);
      const cast = castsFor(ctx, opts, planned);
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
      const cast = castsFor(ctx, opts, inferred) ?? ((rows: Row[]) => rows);
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

/** A part of a partitioned step, with the types inferred for the whole input (see typedPartitions). */
interface TypedPart {
  inferred: InferredSchema;
}

function inferredOfPart(part: Json | undefined): InferredSchema | undefined {
  if (part === null || typeof part !== 'object' || Array.isArray(part)) return undefined;
  return (part as unknown as Partial<TypedPart>).inferred;
}

/**
 * The same for a source's partitions: each part alone would infer from its own first rows, and
 * the parts of one input could cast one field two ways. The planner infers once, from the head of
 * the whole input as an unpartitioned read would (`read` without a part), and every part carries
 * the types.
 */
export function typedPartitions<C extends InferConfig>(
  partitions: PartitionedRead<C>,
  read: Read<C>,
): PartitionedRead<C> {
  return {
    ...(partitions.check ? { check: partitions.check } : {}),
    async plan(ctx, n) {
      const parts = await partitions.plan(ctx, n);
      if (!ctx.config.infer || parts.length === 0) return parts;
      const inferred = await sampleSchema(ctx, read);
      logInferred(ctx, inferred);
      return parts.map((p) => ({ ...(p as Record<string, Json>), inferred }) as unknown as Json);
    },
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
  opts: TypedOptions<C>,
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
      const cast = castsFor(ctx, opts, inferred ?? undefined);
      for (const rows of chunked.parse(ctx, chunk, start, inner)) yield cast ? cast(rows) : rows;
    },
  };
}
