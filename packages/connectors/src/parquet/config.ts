import { type Static, Type } from '@sinclair/typebox';
import { fileSinkProperties } from '../shared/file-sink-config.ts';
import { fileSourceProperties } from '../shared/file-source-options.ts';

export const parquetSourceConfig = Type.Object(
  {
    ...fileSourceProperties,
    columns: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          'Top-level columns to read (the others are never fetched); default all. A name the file lacks ' +
          'fails the step. Types: INT32/INT64 become numbers, or decimal strings past 2^53; DECIMAL becomes a number when a ' +
          'double holds it exactly, else its exact decimal string; TIMESTAMP (any unit) becomes ' +
          '`YYYY-MM-DDTHH:MM:SS.sssZ` (6 or 9 fraction digits when micros or nanos are not zero); DATE ' +
          '`YYYY-MM-DD`; BYTE_ARRAY without a string annotation base64; LIST, MAP and STRUCT arrays and ' +
          'objects. A value with no JSON form (NaN, a date out of range) sends its row to quarantine.',
      }),
    ),
    // 1024 rows: as fast as 4096 and less memory (measured in csv).
    batchSize: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 1024,
      description: 'Rows per batch.',
    }),
  },
  { additionalProperties: false },
);
export type ParquetSourceConfig = Static<typeof parquetSourceConfig>;

/** Column types a sink config may declare; how each is stored is in schema.ts. */
export const PARQUET_COLUMN_TYPES = [
  'string',
  'integer',
  'number',
  'boolean',
  'date',
  'timestamp',
  'json',
] as const;
export type ParquetColumnType = (typeof PARQUET_COLUMN_TYPES)[number];

export const parquetSinkConfig = Type.Object(
  {
    ...fileSinkProperties,
    compression: Type.Union(
      [Type.Literal('snappy'), Type.Literal('gzip'), Type.Literal('brotli'), Type.Literal('none')],
      {
        default: 'snappy',
        description:
          'Codec of the column chunks. zstd is not offered: the Parquet writer has no zstd compressor and ' +
          'this Node.js has none built in (files compressed with zstd are read fine by the parquet source).',
      },
    ),
    rowGroupSize: Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      default: 100_000,
      description:
        'Rows per row group. The sink holds one row group in memory; a checkpoint also closes the ' +
        'row group being filled, so frequent checkpoints make smaller groups.',
    }),
    schema: Type.Optional(
      Type.Record(
        Type.String({ minLength: 1 }),
        Type.Union(PARQUET_COLUMN_TYPES.map((t) => Type.Literal(t))),
        {
          description:
            'Column types: string (UTF8), integer (INT64; also integer strings), number (DOUBLE), ' +
            'boolean, date (DATE from `YYYY-MM-DD`), timestamp (TIMESTAMP micros UTC from ISO 8601), ' +
            'json (JSON text). Columns not named are inferred from the first row group: integers ' +
            'INT64, other numbers DOUBLE, booleans, strings (ISO dates stay strings), objects and ' +
            'arrays json. A row with a value its column cannot hold, or a field outside the columns, ' +
            'goes to quarantine.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type ParquetSinkConfig = Static<typeof parquetSinkConfig>;
