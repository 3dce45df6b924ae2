import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '@sluice/core';
import ExcelJS from 'exceljs';
import { sinkConformance, sourceConformance } from '../../test/conformance.ts';
import { unreachableS3 } from '../../test/conformance-checks.ts';
import { cliSinkConformance, cliSourceConformance } from '../../test/conformance-cli.ts';
import { readSource } from '../../test/harness.ts';
import { excelSink } from './sink.ts';
import { excelSource } from './source.ts';

async function workbook(path: string, columns: string[], rows: Row[]): Promise<void> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Sheet1');
  ws.addRow(columns);
  for (const r of rows) ws.addRow(columns.map((c) => r[c]));
  await wb.xlsx.writeFile(path);
}

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-excel-conf-'));
const sample: Row[] = [
  { id: 1, name: 'Ana', note: 'a, "quoted" note' },
  { id: 2, name: 'Bruno', note: 'two\nlines' },
  { id: 3, name: 'Cé', note: 'ü' },
  { id: 4, name: 'Dora', note: 'plain' },
  { id: 5, name: 'Eli', note: 'x' },
];

sourceConformance('excel', {
  def: excelSource,
  resumable: true,
  badConfig: { path: 'x.xlsx', sheet: 0 },
  badPath: 'with.sheet',
  secret: unreachableS3('in.xlsx'),
  sample,
  async setup(rows: Row[]) {
    const path = join(tmp(), 'in.xlsx');
    await workbook(path, ['id', 'name', 'note'], rows);
    return { path };
  },
});

// A workbook is a zip that cannot be continued after a crash: the sink declares it and must
// refuse a resume or an append with a clear error instead of restarting its file silently.
sinkConformance('excel', {
  def: excelSink,
  resumable: { refused: /cannot resume.*Rerun the step without --resume/s },
  badConfig: { path: 'x.xlsx', sheet: '' },
  badPath: 'with.sheet',
  secret: unreachableS3('out.xlsx'),
  sample,
  setup: async () => ({ path: join(tmp(), 'out.xlsx') }),
  // Entries only: the SOURCE_LINE symbol the source sets is not part of the data.
  readBack: async (config) =>
    (await readSource(excelSource, { path: config.path })).rows.map((r) =>
      Object.fromEntries(Object.entries(r)),
    ),
});

cliSourceConformance('excel', 'excel', {
  async input(rows, dir) {
    await workbook(join(dir, 'in.xlsx'), ['id', 'name'], rows);
    return { path: 'in.xlsx', batchSize: 50 };
  },
  secret: { coveredBy: 'csv on S3, ndjson on SFTP, csv over HTTP' },
});

cliSinkConformance('excel', 'excel', {
  output: async () => ({ path: 'out.xlsx' }),
  readBack: async (c, dir) => (await readSource(excelSource, { path: join(dir, c.path as string) })).rows,
  verify: 'content',
  resumable: { refused: /cannot resume.*Rerun the step without --resume/s },
  secret: { coveredBy: 'ndjson on S3, csv on SFTP' },
});
