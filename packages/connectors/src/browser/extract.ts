import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { Locator } from 'playwright-core';
import { RecordEncoder } from '../csv/sink.ts';

export type ExtractFields = string[] | Record<string, string>;

interface PageRows {
  columns: string[];
  rows: Record<string, string | null>[];
  problem?: string;
}

/**
 * Runs in the page, on the elements `selector` matched: a `<table>` gives its rows that have data
 * cells (`td`), named by its header cells (`th`) unless `fields` names them; any other element is
 * one row whose cells are its children. A map of fields picks each value with a CSS selector
 * inside the row instead. Values are the cells' text, whitespace collapsed.
 *
 * Plain JavaScript in a string: Playwright sends a function's source text to the page, and tsx
 * (which runs the platform's steps from source) would add helper calls the page does not have.
 */
const READ_ROWS = `
  const text = (el) => (el === null ? null : (el.textContent || '').replace(/\\s+/g, ' ').trim());
  const picks = fields && !Array.isArray(fields) ? Object.entries(fields) : undefined;
  let columns = picks ? picks.map((p) => p[0]) : Array.isArray(fields) ? fields : undefined;
  const rows = [];
  for (const el of elements) {
    const isTable = el.tagName === 'TABLE';
    const lines = isTable ? Array.from(el.querySelectorAll('tr')) : [el];
    for (const line of lines) {
      const cells = isTable
        ? Array.from(line.children).filter((c) => c.tagName === 'TD' || c.tagName === 'TH')
        : Array.from(line.children);
      if (isTable && !cells.some((c) => c.tagName === 'TD')) {
        if (columns === undefined && cells.length > 0) columns = cells.map((c) => text(c) || '');
        continue;
      }
      if (picks) {
        rows.push(Object.fromEntries(picks.map((p) => [p[0], text(line.querySelector(p[1]))])));
        continue;
      }
      if (columns === undefined)
        return {
          columns: [],
          rows: [],
          problem: isTable
            ? 'the table has no header cells (th) to name its columns: give \`fields\`'
            : 'the rows are not table rows: give \`fields\` to name their cells',
        };
      rows.push(Object.fromEntries(columns.map((k, i) => [k, text(cells[i] || null)])));
    }
  }
  return { columns: columns || [], rows };
`;
const readRows = new Function('elements', 'fields', READ_ROWS) as (
  elements: unknown[],
  fields: ExtractFields | undefined,
) => PageRows;

/** Reads the rows `locator` points at and writes them to `path` (.csv or .ndjson); returns how many. */
export async function extractRows(
  locator: Locator,
  fields: ExtractFields | undefined,
  path: string,
  where: string,
  timeout: number,
): Promise<number> {
  await locator.first().waitFor({ state: 'attached', timeout });
  const found = await locator.evaluateAll(readRows, fields);
  if (found.problem) throw new SluiceError(ErrorCode.TASK_FAILED, `${where}: ${found.problem}`);
  let body: string;
  if (extname(path).toLowerCase() === '.csv') {
    const csv = new RecordEncoder(found.columns, ',', where);
    body = `${csv.header()}\n${csv.records(found.rows, 0, '\n')}`;
  } else body = found.rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  await writeFile(path, body);
  return found.rows.length;
}
