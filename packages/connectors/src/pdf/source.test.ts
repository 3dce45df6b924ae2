import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, Registry, SOURCE_LINE, toSluiceError } from '@sluice/core';
import { afterAll, describe, expect, it } from 'vitest';
import { readSource } from '../../test/harness.ts';
import { type Placed, type ReportRow, reportPdf, textPdf } from '../../test/pdf-report.ts';
import { pdfSource } from './source.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-pdf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function save(bytes: Uint8Array | string): string {
  const path = join(dir, `f${n++}.pdf`);
  writeFileSync(path, bytes);
  return path;
}

// Entries only: the SOURCE_LINE symbol is not part of the data.
const plain = (rows: object[]) => rows.map((r) => Object.fromEntries(Object.entries(r)));

/** `count` rows of a month of bookings; the amounts have cents and signs. */
const bookings = (count: number): ReportRow[] =>
  Array.from({ length: count }, (_, i) => ({
    date: `2026-01-${String((i % 28) + 1).padStart(2, '0')}`,
    account: `Account ${String.fromCharCode(65 + (i % 26))}${i}`,
    amount: (i % 3 === 0 ? -1 : 1) * (i * 37.25 + 0.5),
  }));
/** The rows the pdf source reads from a report of `rows`: its cells' text. */
const asRead = (rows: ReportRow[]) =>
  rows.map((r) => ({ date: r.date, account: r.account, amount: r.amount.toFixed(2) }));
const REPORT = { mode: 'tables', header: true, startAfter: '^Period ', stopBefore: '^(Total|Page \\d+ of)' };

describe('pdf source, text mode', () => {
  it('reads one row per line per page, items joined left to right whatever order they were drawn in', async () => {
    const path = save(
      await textPdf([
        [
          { text: 'world', x: 120, y: 700 },
          { text: 'Hello', x: 80, y: 700 },
          { text: 'Title', x: 50, y: 780, size: 18 },
          // Drawn as two runs that touch: one word.
          { text: 'foot', x: 50, y: 40 },
          { text: 'note', x: 66.68, y: 40 },
        ],
        [{ text: 'Second page', x: 50, y: 780 }],
      ]),
    );
    const r = await readSource(pdfSource, { path });
    expect(plain(r.rows)).toEqual([
      { page: 1, line: 1, text: 'Title' },
      { page: 1, line: 2, text: 'Hello world' },
      { page: 1, line: 3, text: 'footnote' },
      { page: 2, line: 1, text: 'Second page' },
    ]);
    expect(r.rows[1]![SOURCE_LINE]).toBe(2);
    expect(r.harness.origin).toBe(path);
  });

  it('reads only the pages asked for, and only lines that match', async () => {
    const page = (p: number): Placed[] => [
      { text: `Page ${p} header`, x: 50, y: 780 },
      { text: `2026-01-0${p} booked`, x: 50, y: 760 },
      { text: 'footer', x: 50, y: 40 },
    ];
    const path = save(await textPdf([page(1), page(2), page(3), page(4)]));
    const r = await readSource(pdfSource, { path, pages: '2-3', match: '^\\d{4}-' });
    expect(plain(r.rows)).toEqual([
      { page: 2, line: 2, text: '2026-01-02 booked' },
      { page: 3, line: 2, text: '2026-01-03 booked' },
    ]);
    const past = await readSource(pdfSource, { path, pages: '2,9' }).catch((e: unknown) => e);
    expect(toSluiceError(past).message).toMatch(
      /config\.pages asks for page 9, but the document has 4 pages/,
    );
  });
});

describe('pdf source, tables mode', () => {
  it('reads back a multi-page report: columns found, header named, repeated headers and page furniture skipped', async () => {
    const data = bookings(130);
    const path = save(await reportPdf(data));
    const r = await readSource(pdfSource, { path, ...REPORT });
    expect(r.positions.at(-1)).toMatchObject({ page: 3 });
    expect(r.harness.quarantined).toEqual([]);
    expect(plain(r.rows)).toEqual(asRead(data));
  });

  it('cuts lines at given boundaries, with given field names', async () => {
    const data = bookings(5);
    const path = save(await reportPdf(data));
    const r = await readSource(pdfSource, {
      path,
      ...REPORT,
      columns: [140, 400],
      fields: ['day', 'who', 'sum'],
      pageField: 'page',
    });
    expect(plain(r.rows)).toEqual(
      asRead(data).map((x) => ({ day: x.date, who: x.account, sum: x.amount, page: 1 })),
    );
    const clash = await readSource(pdfSource, { path, ...REPORT, pageField: 'amount' }).catch(
      (e: unknown) => e,
    );
    expect(toSluiceError(clash).message).toMatch(/config\.pageField "amount" is also a column of the table/);
  });

  it('without a header names the columns col1..colN', async () => {
    const path = save(await reportPdf(bookings(2)));
    const r = await readSource(pdfSource, { ...REPORT, path, header: false, match: '^2026-' });
    expect(plain(r.rows)).toEqual(
      asRead(bookings(2)).map((x) => ({ col1: x.date, col2: x.account, col3: x.amount })),
    );
  });

  it('sends a line that does not fit the table to quarantine with its page and line', async () => {
    const row = (y: number, d: string, a: string, amt: string): Placed[] => [
      { text: d, x: 50, y },
      { text: a, x: 150, y },
      { text: amt, x: 400, y },
    ];
    const path = save(
      await textPdf([
        [
          { text: 'Ledger', x: 50, y: 790 },
          ...row(760, 'date', 'account', 'amount'),
          ...row(746, '2026-02-01', 'Ana', '10.00'),
        ],
        [
          ...row(790, 'date', 'account', 'amount'),
          ...row(776, '2026-02-02', 'Bruno', '20.00'),
          // A subtotal: text in two of the three columns.
          { text: 'Subtotal', x: 50, y: 762 },
          { text: '30.00', x: 400, y: 762 },
          // Text running over a column boundary.
          { text: '2026-02-03', x: 50, y: 748 },
          { text: 'A name far too long for its own column', x: 150, y: 748 },
          { text: '5.00', x: 400, y: 748 },
          ...row(734, '2026-02-04', 'Cy', '7.50'),
        ],
      ]),
    );
    const r = await readSource(pdfSource, {
      path,
      mode: 'tables',
      header: true,
      startAfter: '^Ledger$',
      columns: [140, 300],
    });
    expect(plain(r.rows)).toEqual([
      { date: '2026-02-01', account: 'Ana', amount: '10.00' },
      { date: '2026-02-02', account: 'Bruno', amount: '20.00' },
      { date: '2026-02-04', account: 'Cy', amount: '7.50' },
    ]);
    expect(r.harness.quarantined).toEqual([
      {
        reason:
          "text in 2 of the table's 3 columns (account empty); set emptyCells: null to keep such lines, or match to skip them (page 2, line 3)",
        line: 3,
        raw: 'Subtotal 30.00',
      },
      {
        reason: expect.stringMatching(
          /^the text "A name far too long for its own column" \(x 150–[\d.]+\) crosses the column boundary at x 300 \(page 2, line 4\)$/,
        ),
        line: 4,
        raw: '2026-02-03 A name far too long for its own column 5.00',
      },
    ]);
    const kept = await readSource(pdfSource, {
      path,
      mode: 'tables',
      header: true,
      startAfter: '^Ledger$',
      columns: [140, 300],
      emptyCells: 'null',
    });
    expect(plain(kept.rows)).toContainEqual({ date: 'Subtotal', account: null, amount: '30.00' });
  });

  it('says how to give the columns when they cannot be found', async () => {
    const path = save(
      await textPdf([
        [
          { text: 'a', x: 50, y: 700 },
          { text: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', x: 100, y: 700 },
          { text: 'cccccccccccccccccccccccccccccccccc', x: 60, y: 680 },
          { text: 'd', x: 300, y: 680 },
        ],
      ]),
    );
    const err = await readSource(pdfSource, { path, mode: 'tables' }).catch((e: unknown) => e);
    expect(toSluiceError(err).code).toBe(ErrorCode.CONFIG);
    expect(toSluiceError(err).message).toMatch(
      /the table's columns cannot be found from the text's positions: columns 1 and 2 overlap .* Give them as config\.columns/,
    );
  });

  it('resumes from a checkpoint across pages with exactly the remaining rows', async () => {
    const data = bookings(120);
    const path = save(await reportPdf(data));
    const config = { path, ...REPORT, batchSize: 45 };
    const first = await readSource(pdfSource, config, { maxBatches: 2 });
    expect(first.rows).toHaveLength(90);
    expect(first.positions[1]).toMatchObject({ page: 2 });
    const rest = await readSource(pdfSource, config, { resumeFrom: first.positions[1]! });
    expect(plain([...first.rows, ...rest.rows])).toEqual(asRead(data));
    const bad = await readSource(pdfSource, config, { resumeFrom: { row: 3 } }).catch((e: unknown) => e);
    expect(toSluiceError(bad).code).toBe(ErrorCode.CHECKPOINT);
  });
});

describe('pdf source, files that are not text PDFs', () => {
  it('refuses a scanned PDF (a page without text), naming the pages', async () => {
    const path = save(await textPdf([[{ text: 'Cover', x: 50, y: 700 }], [], []]));
    const err = await readSource(pdfSource, { path }).catch((e: unknown) => e);
    expect(toSluiceError(err).code).toBe(ErrorCode.CONFIG);
    expect(toSluiceError(err).message).toBe(
      `PDF ${path} has no text on 2 of the 3 pages read: 2, 3: it is probably scanned; Sluice reads text PDFs ` +
        'only (OCR it first, e.g. with ocrmypdf). If those pages are meant to be blank, leave them out with config.pages.',
    );
    // The page with text alone reads.
    expect(plain((await readSource(pdfSource, { path, pages: '1' })).rows)).toEqual([
      { page: 1, line: 1, text: 'Cover' },
    ]);
  });

  it('refuses a file that is not a PDF, saying what it is', async () => {
    const html = save('<!DOCTYPE html><html><body>Please log in</body></html>');
    const err = await readSource(pdfSource, { path: html }).catch((e: unknown) => e);
    expect(toSluiceError(err).code).toBe(ErrorCode.CONFIG);
    expect(toSluiceError(err).message).toBe(
      `${html} is not a PDF: it is an HTML page (a login or error page saved in place of the report?). ` +
        'Check that the path names the PDF file and that it was copied whole.',
    );
    const broken = save('%PDF-1.7\nthis is not really a PDF\n');
    const err2 = await readSource(pdfSource, { path: broken }).catch((e: unknown) => e);
    expect(toSluiceError(err2).message).toMatch(/^PDF .* cannot be read \(.+\): it is damaged or not a PDF/);
  });

  it('reads a report over HTTP as from a local file', async () => {
    const data = bookings(3);
    const bytes = await reportPdf(data);
    const server = createServer((req, res) => {
      if (req.url !== '/reports/jan.pdf') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': bytes.length }).end(bytes);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const path = `http://127.0.0.1:${(server.address() as AddressInfo).port}/reports/jan.pdf`;
      const r = await readSource(pdfSource, { path, ...REPORT });
      expect(plain(r.rows)).toEqual(asRead(data));
      expect(r.harness.origin).toBe(path);
    } finally {
      server.close();
    }
  });

  it('reports a missing file as NOT_FOUND', async () => {
    const err = await readSource(pdfSource, { path: join(dir, 'none.pdf') }).catch((e: unknown) => e);
    expect(toSluiceError(err).code).toBe(ErrorCode.NOT_FOUND);
  });
});

describe('pdf source config', () => {
  const check = (config: object) => new Registry().check(pdfSource, config, 'steps[1].with');
  it('refuses what it cannot run, each problem at its JSON path', () => {
    expect(check({ path: 'a.pdf', mode: 'pdf' })[0]!.path).toBe('steps[1].with.mode');
    expect(check({ path: 'a.pdf', match: 'a(?=b)' })).toEqual([
      {
        path: 'steps[1].with.match',
        message: expect.stringMatching(/lookahead and lookbehind .* are not supported/),
      },
    ]);
    expect(check({ path: 'a.pdf', pages: '3-1' })).toEqual([
      { path: 'steps[1].with.pages', message: 'the range 3-1 ends before it starts' },
    ]);
    expect(check({ path: 'a.pdf', mode: 'tables', columns: [300, 140] })).toEqual([
      { path: 'steps[1].with.columns', message: 'must be ascending x positions; got [300,140]' },
    ]);
    expect(check({ path: 'a.pdf', mode: 'tables', columns: [140], fields: ['a', 'b', 'c'] })).toEqual([
      { path: 'steps[1].with.fields', message: 'names 3 fields, but 1 column boundaries make 2 columns' },
    ]);
    expect(check({ path: 'a.pdf', header: true })).toEqual([
      { path: 'steps[1].with.header', message: 'is for mode: tables; set mode: tables or remove it' },
    ]);
    expect(check({ path: 'a.pdf', ...REPORT })).toEqual([]);
    expect(check(structuredClone(pdfSource.example!))).toEqual([]);
  });
});
