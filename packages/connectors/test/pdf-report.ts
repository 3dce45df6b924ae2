import { grayscale, PDFDocument, type PDFFont, type PDFPage, StandardFonts } from 'pdf-lib';

/** One line of the report's table. */
export interface ReportRow {
  /** YYYY-MM-DD. */
  date: string;
  account: string;
  amount: number;
}

export interface ReportOptions {
  /** @defaultValue 'Account report' */
  title?: string;
  /** The line under the title. @defaultValue `Period <first date> to <last date>` */
  subtitle?: string;
}

const PAGE: [number, number] = [595, 842]; // A4, in points
const LEFT = 50;
const RIGHT = 545;
const ACCOUNT_X = 150;
const ROW_HEIGHT = 14;
const SIZE = 10;
const BOTTOM = 70; // the lowest table line; the page footer sits below it

/**
 * A report PDF as a portal would serve one: a title and a subtitle, a table of `rows` (date,
 * account, amount right-aligned with two decimals) whose column titles repeat at the top of each
 * page, a total line after the table, and `Page i of n` at the foot of every page. Text only, in
 * the standard Helvetica fonts, so the pdf source reads it back with
 * `{ mode: tables, header: true, startAfter: '^Period ', stopBefore: '^(Total|Page \\d+ of)' }`.
 */
export async function reportPdf(rows: readonly ReportRow[], opts: ReportOptions = {}): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const title = opts.title ?? 'Account report';
  doc.setTitle(title);
  doc.setProducer('Sluice demo portal');
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const text = (page: PDFPage, s: string, x: number, y: number, f: PDFFont = font, size = SIZE) =>
    page.drawText(s, { x, y, size, font: f });
  const rightAligned = (page: PDFPage, s: string, y: number, f: PDFFont = font) =>
    text(page, s, RIGHT - f.widthOfTextAtSize(s, SIZE), y, f);
  const columnTitles = (page: PDFPage, y: number) => {
    text(page, 'date', LEFT, y, bold);
    text(page, 'account', ACCOUNT_X, y, bold);
    rightAligned(page, 'amount', y, bold);
  };

  let page = doc.addPage(PAGE);
  text(page, title, LEFT, 790, bold, 16);
  const period =
    rows.length > 0 ? `Period ${rows[0]!.date} to ${rows[rows.length - 1]!.date}` : 'Period: no rows';
  text(page, opts.subtitle ?? period, LEFT, 770);
  let y = 740;
  columnTitles(page, y);
  let total = 0;
  for (const r of rows) {
    y -= ROW_HEIGHT;
    if (y < BOTTOM) {
      page = doc.addPage(PAGE);
      y = 790;
      columnTitles(page, y);
      y -= ROW_HEIGHT;
    }
    text(page, r.date, LEFT, y);
    text(page, r.account, ACCOUNT_X, y);
    rightAligned(page, r.amount.toFixed(2), y);
    total += r.amount;
  }
  y -= ROW_HEIGHT * 1.5;
  if (y < BOTTOM) {
    page = doc.addPage(PAGE);
    y = 790;
  }
  text(page, `Total (${rows.length} rows)`, LEFT, y, bold);
  rightAligned(page, total.toFixed(2), y, bold);

  const pages = doc.getPages();
  pages.forEach((p, i) => {
    text(p, `Page ${i + 1} of ${pages.length}`, LEFT, 40, font, 8);
  });
  return doc.save();
}

/** Text placed on a page: x, y in points from the bottom-left corner. */
export interface Placed {
  text: string;
  x: number;
  y: number;
  /** @defaultValue 10 */
  size?: number;
}

/**
 * A PDF of A4 pages holding exactly the given text, drawn in the order given (which need not be
 * reading order). A page given no text gets a grey box where a scan's image would be, and no text.
 */
export async function textPdf(pages: readonly (readonly Placed[])[]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const texts of pages) {
    const page = doc.addPage(PAGE);
    if (texts.length === 0) {
      page.drawRectangle({ x: 40, y: 40, width: 515, height: 762, color: grayscale(0.8) });
    }
    for (const t of texts) page.drawText(t.text, { x: t.x, y: t.y, size: t.size ?? SIZE, font });
  }
  return doc.save();
}
