import { once } from 'node:events';
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import { describe, expect, it } from 'vitest';
import { holdEarlyEnd } from './zip-end.ts';

/**
 * A workbook in the part order Excel itself writes (workbook part and shared strings before the
 * sheets), so exceljs hands each sheet to its reader as the zip reaches it instead of spooling it.
 */
async function excelOrdered(): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.addWorksheet('First').addRows([['k'], ['one']]);
  wb.addWorksheet('Second').addRows([['k'], ['two']]);
  wb.addWorksheet('Third').addRows([['k'], ['three']]);
  const written = await JSZip.loadAsync(await wb.xlsx.writeBuffer());
  const out = new JSZip();
  for (const name of [
    '[Content_Types].xml',
    '_rels/.rels',
    'xl/workbook.xml',
    'xl/_rels/workbook.xml.rels',
    'xl/sharedStrings.xml',
    'xl/styles.xml',
    'xl/worksheets/sheet1.xml',
    'xl/worksheets/sheet2.xml',
    'xl/worksheets/sheet3.xml',
    'docProps/app.xml',
    'docProps/core.xml',
  ]) {
    const part = written.file(name);
    if (!part) throw new Error(`exceljs wrote no ${name}`);
    out.file(name, await part.async('uint8array'));
  }
  return out.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
}

/**
 * Reads every sheet with exceljs's streaming reader, but stays on the first sheet until the zip
 * parser has taken in the whole file: the reader is as slow as it is on a loaded machine, where
 * the parser runs ahead and buffers the later entries.
 */
async function readSlowly(input: Readable): Promise<{ sheets: (string | undefined)[]; cells: unknown[] }> {
  let parser: NodeJS.WritableStream | undefined;
  const pipe = input.pipe;
  input.pipe = function capture<D extends NodeJS.WritableStream>(
    this: Readable,
    dest: D,
    options?: { end?: boolean },
  ) {
    parser = dest;
    return pipe.call(this, dest, options) as D;
  };
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    sharedStrings: 'cache',
    worksheets: 'emit',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  const sheets: (string | undefined)[] = [];
  const cells: unknown[] = [];
  for await (const ws of reader) {
    const name = (ws as unknown as { name?: string }).name;
    if (
      sheets.length === 0 &&
      parser &&
      !(parser as unknown as { writableFinished: boolean }).writableFinished
    ) {
      await once(parser as unknown as Readable, 'finish');
    }
    sheets.push(name);
    for await (const row of ws) cells.push((row as ExcelJS.Row).getCell(1).value);
  }
  return { sheets, cells };
}

describe('holdEarlyEnd', () => {
  it('lets exceljs read the entries its zip parser buffered while the reader was busy', async () => {
    const file = await excelOrdered();
    const read = await readSlowly(holdEarlyEnd(Readable.from([file])));
    expect(read.sheets).toEqual(['First', 'Second', 'Third']);
    expect(read.cells).toEqual(['k', 'one', 'k', 'two', 'k', 'three']);
  });

  it('is needed: without it the same slow read silently loses the later sheets', async () => {
    const read = await readSlowly(Readable.from([await excelOrdered()]));
    expect(read.sheets).toEqual(['First']);
  });

  it('still ends a read of a truncated workbook with an error, not a hang', async () => {
    const file = await excelOrdered();
    const cut = file.subarray(0, Math.floor(file.length * 0.6));
    await expect(readSlowly(holdEarlyEnd(Readable.from([cut])))).rejects.toThrow();
  });
});
