import { createReadStream } from 'node:fs';
import { readCell } from './cells.ts';
import { RowSum } from './digest.ts';
import { openSheet } from './sheet.ts';

/**
 * Reads the written sheet back, streaming as the source does: the rows with a value after the
 * header row, and (for `content`) their checksum over `width` columns.
 */
export async function readBack(
  file: string,
  sheet: string,
  firstRow: number,
  width: number,
  content: boolean,
  signal: AbortSignal,
): Promise<RowSum> {
  const found = new RowSum();
  const opened = openSheet(createReadStream(file), sheet, file, signal);
  for await (const rows of opened.rows) {
    for (const row of rows) {
      if (row.number < firstRow) continue;
      if (!content) {
        found.rows++;
        continue;
      }
      const values: unknown[] = [];
      for (let c = 1; c <= width; c++) {
        const read = readCell(row.getCell(c), opened.date1904());
        values.push('error' in read ? { error: read.error } : read.value);
      }
      found.add(values);
    }
  }
  return found;
}
