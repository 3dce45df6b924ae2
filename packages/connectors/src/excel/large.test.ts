import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import ExcelJS from 'exceljs';
import { expect, it } from 'vitest';
import { sourceContext } from '../../test/harness.ts';
import type { ExcelSourceConfig } from './config.ts';
import { excelSource } from './source.ts';

const ROWS = 200_000;

// The parser's garbage (exceljs makes a Row and Cells per sheet row) is collected lazily, so RSS
// alone says little. What streaming bounds is the memory kept alive: the test collects as it goes
// and measures that (it caught rows kept alive by a Promise.race on a never-settling promise).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

it('reads a 200k-row sheet streaming, with memory bounded', { timeout: 60_000 }, async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'sluice-excel-large-')), 'big.xlsx');
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings: true });
  const ws = wb.addWorksheet('Big');
  ws.addRow(['id', 'name', 'amount']).commit();
  for (let i = 1; i <= ROWS; i++) ws.addRow([i, `name ${i % 1000}`, i / 4]).commit();
  ws.commit();
  await wb.commit();

  gc();
  const before = process.memoryUsage();
  let peak = before.rss;
  let kept = before.heapUsed;
  let batches = 0;
  let count = 0;
  let sum = 0;
  let last = 0;
  const { ctx } = sourceContext<ExcelSourceConfig>(excelSource, { path, batchSize: 4096 });
  for await (const b of excelSource.read(ctx)) {
    for (const r of b.rows) {
      count++;
      sum += r.id as number;
    }
    last = b.progress?.done ?? last;
    if (++batches % 8 === 0) {
      gc();
      const now = process.memoryUsage();
      peak = Math.max(peak, now.rss);
      kept = Math.max(kept, now.heapUsed);
    }
  }
  expect(count).toBe(ROWS);
  expect(sum).toBe((ROWS * (ROWS + 1)) / 2);
  expect(last).toBeGreaterThan(0);
  // Loose on purpose: the 200k rows alone, held, take ~100 MB of heap (and exceljs's rows several times that).
  expect(kept - before.heapUsed).toBeLessThan(40 * 1024 * 1024);
  expect(peak - before.rss).toBeLessThan(150 * 1024 * 1024);
});
