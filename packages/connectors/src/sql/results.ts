import type {
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBResult,
  DuckDBStructValue,
  DuckDBType,
  DuckDBUnionValue,
  DuckDBValue,
  DuckDBValueConverter,
  DuckDBTypeId as TypeId,
} from '@duckdb/node-api';
import type { Row } from '@sluice/core';
import { dateFromDays, decimal, isoFromUnits, Unmappable } from '../parquet/values.ts';
import { numberLoss } from '../shared/json-numbers.ts';
import { JsonProblem, JsonValueReader } from '../shared/json-value.ts';
import { compileBuildRow, setField } from '../shared/pick.ts';
import { uniqueNames } from '../shared/unique-names.ts';
import { duckdb } from './duckdb.ts';

const { DuckDBTypeId } = duckdb;

/**
 * DuckDB values as Sluice row values, with the conventions of the other sources (the parquet and
 * postgres sources): integers as numbers while a double holds them exactly, otherwise their digits
 * as a string (a bigint would not survive JSON.stringify in the sinks); DECIMAL as a number when
 * the double prints back as the same decimal, else its text; DATE `YYYY-MM-DD`; TIMESTAMP[TZ]
 * ISO 8601 in UTC with its sub-millisecond digits; LIST, ARRAY, STRUCT, MAP as arrays and objects;
 * JSON parsed; BLOB base64; other types (TIME, INTERVAL, UUID, BIT) DuckDB's text for them.
 */
type Convert = (v: DuckDBValue, type: DuckDBType) => unknown;

const integer = (v: DuckDBValue): unknown => {
  if (typeof v === 'number') return v;
  const n = Number(v as bigint);
  return Number.isSafeInteger(n) ? n : String(v);
};
const text = (v: DuckDBValue): unknown => String(v);
const orText = (v: DuckDBValue, r: string | Unmappable): string => (r instanceof Unmappable ? String(v) : r);
const micros = (v: DuckDBValue): unknown =>
  orText(v, isoFromUnits((v as { micros: bigint }).micros, 1_000_000n));

const BY_TYPE: Partial<Record<TypeId, Convert>> = {
  [DuckDBTypeId.BOOLEAN]: (v) => v,
  [DuckDBTypeId.TINYINT]: (v) => v,
  [DuckDBTypeId.SMALLINT]: (v) => v,
  [DuckDBTypeId.INTEGER]: (v) => v,
  [DuckDBTypeId.UTINYINT]: (v) => v,
  [DuckDBTypeId.USMALLINT]: (v) => v,
  [DuckDBTypeId.UINTEGER]: (v) => v,
  [DuckDBTypeId.FLOAT]: (v) => v,
  [DuckDBTypeId.DOUBLE]: (v) => v,
  [DuckDBTypeId.BIGINT]: integer,
  [DuckDBTypeId.UBIGINT]: integer,
  [DuckDBTypeId.HUGEINT]: integer,
  [DuckDBTypeId.UHUGEINT]: integer,
  [DuckDBTypeId.BIGNUM]: integer,
  [DuckDBTypeId.DECIMAL]: (v) => decimal((v as DuckDBDecimalValue).value, (v as DuckDBDecimalValue).scale),
  [DuckDBTypeId.VARCHAR]: (v, type) => (type.alias === 'JSON' ? parseJson(v as string) : v),
  [DuckDBTypeId.ENUM]: text,
  [DuckDBTypeId.UUID]: text,
  [DuckDBTypeId.DATE]: (v) => orText(v, dateFromDays((v as DuckDBDateValue).days)),
  [DuckDBTypeId.TIMESTAMP]: micros,
  [DuckDBTypeId.TIMESTAMP_TZ]: micros,
  [DuckDBTypeId.TIMESTAMP_S]: (v) => orText(v, isoFromUnits((v as { seconds: bigint }).seconds, 1n)),
  [DuckDBTypeId.TIMESTAMP_MS]: (v) => orText(v, isoFromUnits((v as { millis: bigint }).millis, 1_000n)),
  [DuckDBTypeId.TIMESTAMP_NS]: (v) => orText(v, isoFromUnits((v as { nanos: bigint }).nanos, 1_000_000_000n)),
  [DuckDBTypeId.TIME]: text,
  [DuckDBTypeId.TIME_TZ]: text,
  [DuckDBTypeId.TIME_NS]: text,
  [DuckDBTypeId.INTERVAL]: text,
  [DuckDBTypeId.BIT]: text,
  [DuckDBTypeId.BLOB]: (v) => Buffer.from((v as DuckDBBlobValue).bytes).toString('base64'),
  [DuckDBTypeId.SQLNULL]: () => null,
};

// Numbers a double would change (an id past 2^53) are kept as their digits, as the JSON sources
// keep them with bigNumbers: string; nesting is DuckDB's, so the depth guard only stops the absurd.
const jsonReader = new JsonValueReader({ bigNumbers: 'string', maxDepth: 10_000 });

/** A JSON value exactly: numbers a double would change come back as their digits. */
function parseJson(text: string): unknown {
  const bytes = Buffer.from(text);
  const v = jsonReader.read(text, bytes, 0, bytes.length);
  if (v instanceof JsonProblem) return text;
  // A bare number is parsed by JSON.parse alone (the reader looks into objects and arrays only).
  if (typeof v === 'number') {
    const literal = text.trim();
    return numberLoss(literal) === undefined ? v : literal;
  }
  return v;
}

/** The converter DuckDB's chunks take: it recurses into nested values itself. */
export const toRowValue: DuckDBValueConverter<unknown> = (value, type, self) => {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const child = (type as unknown as { valueType: DuckDBType }).valueType;
      return (value as DuckDBListValue).items.map((x) => self(x, child, self));
    }
    case DuckDBTypeId.STRUCT: {
      const t = type as unknown as { entryNames: string[]; entryTypes: DuckDBType[] };
      const entries = (value as DuckDBStructValue).entries;
      const out: Record<string, unknown> = {};
      for (let i = 0; i < t.entryNames.length; i++) {
        const name = t.entryNames[i]!;
        setField(out, name, self(entries[name] ?? null, t.entryTypes[i]!, self));
      }
      return out;
    }
    case DuckDBTypeId.MAP: {
      const t = type as unknown as { keyType: DuckDBType; valueType: DuckDBType };
      const out: Record<string, unknown> = {};
      for (const e of (value as DuckDBMapValue).entries)
        setField(out, String(self(e.key, t.keyType, self)), self(e.value, t.valueType, self));
      return out;
    }
    case DuckDBTypeId.UNION: {
      const u = value as DuckDBUnionValue;
      const t = type as unknown as { memberTags: string[]; memberTypes: DuckDBType[] };
      const i = t.memberTags.indexOf(u.tag);
      return i < 0 ? String(u.value) : self(u.value, t.memberTypes[i]!, self);
    }
    default: {
      const convert = BY_TYPE[type.typeId];
      return convert ? convert(value, type) : String(value);
    }
  }
};

/**
 * The rows of `result` in batches of about `batchRows` (DuckDB hands out chunks of 2048 rows):
 * one chunk at a time is converted, so memory holds a batch, not the result. Columns of the same
 * name (`SELECT *` over a join) become fields `name`, `name_2`…, as a CSV header's repeats do, and
 * `warn` says so; `drop` names a column left out (the input's placeholder, see InputTable).
 */
export async function* resultBatches(
  result: DuckDBResult,
  batchRows: number,
  warn: (msg: string) => void = () => {},
  drop?: string,
): AsyncGenerator<Row[]> {
  const all = result.columnNames();
  const keep = all.map((n) => n !== drop);
  const names = uniqueNames(
    all.filter((_, j) => keep[j]),
    (msg) =>
      warn(`sql: the query's result ${msg}; give its columns distinct aliases (AS) to choose the names`),
  );
  const build = compileBuildRow(names);
  // The result's types, not the chunks': only they carry the JSON alias (of nested types too).
  const types = result.columnTypes();
  let batch: Row[] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const columns: unknown[][] = [];
    for (let j = 0; j < types.length; j++) {
      if (!keep[j]) continue;
      const vector = chunk.getColumnVector(j);
      const out: unknown[] = new Array(chunk.rowCount);
      for (let i = 0; i < out.length; i++) out[i] = toRowValue(vector.getItem(i), types[j]!, toRowValue);
      columns.push(out);
    }
    const n = chunk.rowCount;
    const values: unknown[] = new Array(columns.length);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < columns.length; j++) values[j] = columns[j]![i];
      batch.push(build(values));
    }
    if (batch.length >= batchRows) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
