import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '@sluice/core';
import { sourceConformance } from '../../test/conformance.ts';
import { unreachableS3 } from '../../test/conformance-checks.ts';
import { cliSourceConformance } from '../../test/conformance-cli.ts';
import { type Placed, textPdf } from '../../test/pdf-report.ts';
import { pdfSource } from './source.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-pdf-conf-'));
// A PDF holds text: every value reads back as the text it shows.
const sample: Row[] = [
  { id: '1', name: 'Ana', note: 'a, "quoted" note' },
  { id: '2', name: 'Bruno', note: 'two words' },
  { id: '3', name: 'Cé', note: 'ü' },
  { id: '4', name: 'Dora', note: 'plain' },
  { id: '5', name: 'Eli', note: 'x' },
];
const X = { id: 50, name: 100, note: 250 };

/** A page with a title, the table (its header, then `rows`) and a footer. */
function page(rows: Row[], columns: Record<string, number> = X): Placed[] {
  const line = (y: number, r: Record<string, unknown>): Placed[] =>
    Object.entries(columns).map(([k, x]) => ({ text: String(r[k]), x, y }));
  return [
    { text: 'Conformance report', x: 50, y: 790, size: 16 },
    ...line(760, Object.fromEntries(Object.keys(columns).map((k) => [k, k]))),
    ...rows.flatMap((r, i) => line(746 - i * 14, r)),
    { text: 'End of report', x: 50, y: 40 },
  ];
}

sourceConformance('pdf', {
  def: pdfSource,
  resumable: true,
  badConfig: { path: 'x.pdf', mode: 'ocr' },
  badPath: 'with.mode',
  secret: unreachableS3('in.pdf'),
  sample,
  async setup(rows: Row[]) {
    const path = join(tmp(), 'in.pdf');
    writeFileSync(path, await textPdf([page(rows)]));
    return { path, mode: 'tables', header: true, startAfter: '^Conformance', stopBefore: '^End of report$' };
  },
});

// 6000 rows of the CLI suite make a report of ~120 pages: the whole of it is read before the
// first row is handed on, and the kill still lands at the second checkpoint.
cliSourceConformance('pdf', 'pdf', {
  async input(rows, dir) {
    const perPage = 50;
    const pages: Placed[][] = [];
    for (let i = 0; i < rows.length || pages.length === 0; i += perPage)
      pages.push(page(rows.slice(i, i + perPage), { id: 50, name: 100 }));
    writeFileSync(join(dir, 'in.pdf'), await textPdf(pages));
    return {
      path: 'in.pdf',
      batchSize: 50,
      mode: 'tables',
      header: true,
      startAfter: '^Conformance',
      stopBefore: '^End of report$',
    };
  },
  secret: { coveredBy: 'csv on S3, ndjson on SFTP, csv over HTTP' },
});
