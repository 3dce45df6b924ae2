// The positions report as the demo portal serves it: a title, a table laid out in columns (as
// PDF reports are: text placed at x positions, no table structure) and a footer.
import { PDFDocument, StandardFonts } from 'pdf-lib';

const COLUMNS = [
  { field: 'account', title: 'Account', x: 50 },
  { field: 'fund', title: 'Fund', x: 130 },
  { field: 'quantity', title: 'Quantity', x: 270 },
  { field: 'price', title: 'Price', x: 360 },
  { field: 'value', title: 'Value', x: 440 },
];

export async function positionsPdf(asOf, rows) {
  const doc = await PDFDocument.create();
  doc.setTitle(`Positions as of ${asOf}`);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const page = doc.addPage([595, 842]);
  page.drawText(`Positions as of ${asOf}`, { x: 50, y: 780, size: 18, font: bold });
  let y = 740;
  for (const c of COLUMNS) page.drawText(c.title, { x: c.x, y, size: 11, font: bold });
  for (const row of rows) {
    y -= 20;
    for (const c of COLUMNS) page.drawText(String(row[c.field]), { x: c.x, y, size: 11, font });
  }
  page.drawText('Demo portal - confidential - page 1 of 1', { x: 50, y: 60, size: 9, font });
  return doc.save();
}
