import { type Static, Type } from '@sinclair/typebox';
import { fileSinkProperties } from '../shared/file-sink-config.ts';
import { fileSourceProperties } from '../shared/file-source-options.ts';

export const excelSourceConfig = Type.Object(
  {
    ...fileSourceProperties,
    sheet: Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 1 })], {
      default: 1,
      description: 'The sheet to read: its name, or its position in the workbook counting from 1.',
      examples: ['Orders', 2],
    }),
    header: Type.Boolean({
      default: true,
      description:
        'Row `headerRow` names the columns. An empty header cell names its column `colN` (N its position ' +
        'from 1); two columns of the same name stop the read, naming the cells. Cells right of the last ' +
        'named column send their row to quarantine.',
    }),
    headerRow: Type.Integer({
      minimum: 1,
      default: 1,
      description:
        'The sheet row the data starts at (with header: the row of column names); rows above it are skipped.',
    }),
    columns: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        uniqueItems: true,
        description:
          'Column names. Without a header they name the columns from A in order (default col1..colN, N ' +
          'the width of the first row read); with a header they replace its names and must be as many.',
      }),
    ),
    batchSize: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 1024,
      description: 'Rows per batch.',
    }),
  },
  { additionalProperties: false },
);
export type ExcelSourceConfig = Static<typeof excelSourceConfig>;

export const excelSinkConfig = Type.Object(
  {
    ...fileSinkProperties,
    sheet: Type.String({
      minLength: 1,
      maxLength: 31,
      // Excel's own rules for a sheet name.
      pattern: '^[^\\\\/?*\\[\\]:]+$',
      default: 'Sheet1',
      description: 'Name of the one sheet written (at most 31 characters, none of \\ / ? * [ ] :).',
    }),
    header: Type.Boolean({ default: true, description: 'Write the column names as the first row.' }),
    columns: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        uniqueItems: true,
        description:
          'Fields to write, in order; other fields are not written and a missing one is an empty cell. ' +
          'Default: the fields of the first row, and a later row with a field not among them stops the step.',
      }),
    ),
    dateColumns: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        uniqueItems: true,
        description:
          'Columns whose ISO 8601 text (YYYY-MM-DD, or a timestamp, read as UTC without an offset) is ' +
          'written as an Excel date; a value that is not one sends its row to quarantine. Other ' +
          'date text stays text.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ExcelSinkConfig = Static<typeof excelSinkConfig>;
