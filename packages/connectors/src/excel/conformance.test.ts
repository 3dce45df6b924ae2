import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '@sluice/core';
import ExcelJS from 'exceljs';
import { sourceConformance } from '../../test/conformance.ts';
import { excelSource } from './source.ts';

// The sink does not take the shared sink suite: it cannot resume or append (see sink.ts), which
// two of that suite's cases require; sink.test.ts covers the rest of the contract.
sourceConformance('excel', {
  def: excelSource,
  resumable: true,
  badConfig: { path: 'x.xlsx', sheet: 0 },
  sample: [
    { id: 1, name: 'Ana', note: 'a, "quoted" note' },
    { id: 2, name: 'Bruno', note: 'two\nlines' },
    { id: 3, name: 'Cé', note: 'ü' },
    { id: 4, name: 'Dora', note: 'plain' },
    { id: 5, name: 'Eli', note: 'x' },
  ],
  async setup(rows: Row[]) {
    const path = join(mkdtempSync(join(tmpdir(), 'sluice-excel-conf-')), 'in.xlsx');
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Sheet1');
    ws.addRow(['id', 'name', 'note']);
    for (const r of rows) ws.addRow([r.id, r.name, r.note]);
    await wb.xlsx.writeFile(path);
    return { path };
  },
});
