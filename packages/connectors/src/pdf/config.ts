import { type Static, Type } from '@sinclair/typebox';
import { type Issue, patternProblem } from '@sluice/core';
import { fileSourceProperties } from '../shared/file-source-options.ts';
import { pageRangesProblem } from './pages.ts';

const pattern = (description: string) =>
  Type.Optional(Type.String({ minLength: 1, description: `${description} RE2 syntax, unanchored.` }));

export const pdfSourceConfig = Type.Object(
  {
    ...fileSourceProperties,
    mode: Type.Union([Type.Literal('text'), Type.Literal('tables')], {
      default: 'text',
      description:
        '`text`: one row per line of each page, `{ page, line, text }`. `tables`: the lines are cut into ' +
        "cells by the text's x positions (see `columns`), one row per table line.",
    }),
    pages: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Pages to read, counting from 1: numbers and ranges separated by commas; a range without an ' +
          'end runs to the last page. A range past the last page stops there; a page number past it is an error.',
        examples: ['1-3,5', '2-'],
      }),
    ),
    startAfter: pattern(
      'On each page, lines are read from the one after the first line matching this (a title, the ' +
        'line above the table); a page without such a line is read from its top.',
    ),
    stopBefore: pattern(
      'On each page, lines are read up to the first line matching this (a total, a footer), which is ' +
        'not read; a page without such a line is read to its bottom.',
    ),
    match: pattern(
      'Only lines matching this are rows (`^\\d{4}-\\d{2}-\\d{2}` for lines starting with a date); others ' +
        'between startAfter and stopBefore are skipped, not quarantined. In tables mode the header line ' +
        'need not match.',
    ),
    columns: Type.Optional(
      Type.Array(Type.Number({ minimum: 0 }), {
        minItems: 1,
        description:
          'tables mode: x positions (PDF points from the left edge of the page, 72 to the inch) where one ' +
          'column ends and the next begins, ascending: N positions make N+1 columns. Default: found from ' +
          'the table lines, where the text of the most common number of cells lines up.',
        examples: [[140, 300]],
      }),
    ),
    header: Type.Boolean({
      default: false,
      description:
        'tables mode: the first table line names the fields (an empty cell names its column `colN`); ' +
        'the same line repeated on later pages is skipped.',
    }),
    fields: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        uniqueItems: true,
        description:
          "tables mode: field names, one per column, left to right; they replace a header's names. " +
          'Default: the header, or col1..colN.',
      }),
    ),
    pageField: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'tables mode: adds this field to every row, the page it came from (quarantine entries of later ' +
          'steps carry only the line on its page).',
      }),
    ),
    emptyCells: Type.Union([Type.Literal('quarantine'), Type.Literal('null')], {
      default: 'quarantine',
      description:
        'tables mode: a table line with text in fewer columns than the table has (a subtotal, a ' +
        'line that is not a row) goes to quarantine with its page and line; `null` keeps it, its empty ' +
        'cells null.',
    }),
    batchSize: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 1024,
      description: 'Rows per batch.',
    }),
  },
  { additionalProperties: false },
);
export type PdfSourceConfig = Static<typeof pdfSourceConfig>;

/** What the schema cannot say: patterns RE2 runs, ascending boundaries, as many names as columns. */
export function checkPdfConfig(cfg: PdfSourceConfig): Issue[] {
  const issues: Issue[] = [];
  for (const key of ['startAfter', 'stopBefore', 'match'] as const) {
    const source = cfg[key];
    const problem = source === undefined ? null : patternProblem(source);
    if (problem !== null) issues.push({ path: key, message: problem });
  }
  if (cfg.pages !== undefined) {
    const problem = pageRangesProblem(cfg.pages);
    if (problem !== null) issues.push({ path: 'pages', message: problem });
  }
  const cols = cfg.columns;
  if (cols?.some((x, i) => i > 0 && x <= cols[i - 1]!)) {
    issues.push({ path: 'columns', message: `must be ascending x positions; got ${JSON.stringify(cols)}` });
  }
  if (cols !== undefined && cfg.fields !== undefined && cfg.fields.length !== cols.length + 1) {
    issues.push({
      path: 'fields',
      message: `names ${cfg.fields.length} fields, but ${cols.length} column boundaries make ${cols.length + 1} columns`,
    });
  }
  if (cfg.pageField !== undefined && cfg.fields?.includes(cfg.pageField)) {
    issues.push({
      path: 'pageField',
      message: `names ${JSON.stringify(cfg.pageField)}, which is one of config.fields`,
    });
  }
  if (cfg.mode === 'text') {
    for (const key of ['columns', 'fields', 'pageField'] as const) {
      if (cfg[key] !== undefined)
        issues.push({ path: key, message: 'is for mode: tables; set mode: tables or remove it' });
    }
    if (cfg.header)
      issues.push({ path: 'header', message: 'is for mode: tables; set mode: tables or remove it' });
  }
  return issues;
}
