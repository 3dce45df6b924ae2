import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, SOURCE_LINE } from '@sluice/core';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { readSource, sourceContext } from '../../test/harness.ts';
import type { ExcelSourceConfig } from './config.ts';
import { excelSource } from './source.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-excel-src-'));
let n = 0;

/** Writes a workbook made with exceljs's document API; `fill` gets the workbook. */
async function book(fill: (wb: ExcelJS.Workbook) => void): Promise<string> {
  const wb = new ExcelJS.Workbook();
  fill(wb);
  const path = join(dir, `b${++n}.xlsx`);
  await wb.xlsx.writeFile(path);
  return path;
}

const plain = (rows: object[]) => rows.map((r) => Object.fromEntries(Object.entries(r)));

describe('excel source', () => {
  it('reads numbers, strings, booleans, dates, formulas, rich text, hyperlinks and empty cells', async () => {
    const path = await book((wb) => {
      const ws = wb.addWorksheet('Data');
      ws.addRow(['n', 's', 'b', 'ts', 'day', 'f', 'rich', 'link', 'empty']);
      ws.addRow([
        1.5,
        'Ana',
        true,
        new Date('2026-03-04T05:06:07.089Z'),
        new Date('2026-03-04T00:00:00Z'),
        { formula: 'A2*2', result: 3 },
        { richText: [{ text: 'bo' }, { text: 'ld', font: { bold: true } }] },
        { text: 'site', hyperlink: 'https://example.org' },
        null,
      ]);
      ws.getCell('D2').numFmt = 'yyyy-mm-dd hh:mm:ss';
      ws.getCell('E2').numFmt = 'yyyy-mm-dd';
      ws.addRow([
        -2,
        '',
        false,
        null,
        null,
        { formula: 'TODAY()', result: new Date('2026-01-05T00:00:00Z') },
      ]);
      ws.getCell('F3').numFmt = 'dd/mm/yyyy';
    });
    const r = await readSource(excelSource, { path });
    expect(plain(r.rows)).toEqual([
      {
        n: 1.5,
        s: 'Ana',
        b: true,
        ts: '2026-03-04T05:06:07.089Z',
        day: '2026-03-04',
        f: 3,
        rich: 'bold',
        link: 'site',
        empty: null,
      },
      // Excel keeps no empty text: an empty string cell reads as empty.
      { n: -2, s: null, b: false, ts: null, day: null, f: '2026-01-05', rich: null, link: null, empty: null },
    ]);
    expect(r.rows.map((x) => x[SOURCE_LINE])).toEqual([2, 3]);
    expect(r.harness.quarantined).toEqual([]);
    expect(r.positions.at(-1)).toEqual({ row: 3 });
  });

  it('sends a row with an error cell to quarantine, naming the cell', async () => {
    const path = await book((wb) => {
      const ws = wb.addWorksheet('Sheet1');
      ws.addRow(['a', 'b', 'c']);
      ws.addRow([1, 2, 3]);
      for (let i = 3; i < 7; i++) ws.addRow([i, i, i]);
      ws.addRow([7, 'x', { error: '#DIV/0!' }]);
      ws.addRow([8, 'y', { formula: '1/0', result: { error: '#DIV/0!' } }]);
      ws.addRow([9, 'z', 9]);
    });
    const r = await readSource(excelSource, { path });
    expect(r.rows.map((x) => x.a)).toEqual([1, 3, 4, 5, 6, 9]);
    expect(r.harness.quarantined).toHaveLength(2);
    expect(r.harness.quarantined[0]).toMatchObject({ line: 7 });
    expect(r.harness.quarantined[0]!.reason).toContain('Sheet1!C7 holds #DIV/0!');
    expect(r.harness.quarantined[1]!.reason).toContain('Sheet1!C8');
    expect(r.harness.quarantined[1]!.reason).toContain('error');
  });

  it('picks the sheet by name or position, and names the sheets when one is missing', async () => {
    const path = await book((wb) => {
      wb.addWorksheet('First').addRows([['k'], ['one']]);
      wb.addWorksheet('Second').addRows([['k'], ['two']]);
    });
    expect(plain((await readSource(excelSource, { path })).rows)).toEqual([{ k: 'one' }]);
    expect(plain((await readSource(excelSource, { path, sheet: 2 })).rows)).toEqual([{ k: 'two' }]);
    expect(plain((await readSource(excelSource, { path, sheet: 'Second' })).rows)).toEqual([{ k: 'two' }]);
    await expect(readSource(excelSource, { path, sheet: 'Third' })).rejects.toThrow(
      /no sheet "Third"; the workbook has "First", "Second"/,
    );
    await expect(readSource(excelSource, { path, sheet: 3 })).rejects.toMatchObject({
      code: ErrorCode.CONFIG,
    });
  });

  it('names empty header cells colN, refuses duplicate names with their cells, and honours headerRow and columns', async () => {
    const path = await book((wb) => {
      const ws = wb.addWorksheet('S');
      ws.addRow(['title line']);
      ws.addRow(['id', null, 'v']);
      ws.addRow([1, 'x', 2]);
      const dup = wb.addWorksheet('Dup');
      dup.addRow(['id', 'v', 'id']);
      dup.addRow([1, 2, 3]);
    });
    const r = await readSource(excelSource, { path, headerRow: 2 });
    expect(plain(r.rows)).toEqual([{ id: 1, col2: 'x', v: 2 }]);
    const named = await readSource(excelSource, { path, headerRow: 2, columns: ['a', 'b', 'c'] });
    expect(plain(named.rows)).toEqual([{ a: 1, b: 'x', c: 2 }]);
    const bare = await readSource(excelSource, { path, header: false, headerRow: 3 });
    expect(plain(bare.rows)).toEqual([{ col1: 1, col2: 'x', col3: 2 }]);
    await expect(readSource(excelSource, { path, sheet: 'Dup' })).rejects.toThrow(
      /header cells Dup!A1 and Dup!C1 both name a column "id"/,
    );
    await expect(readSource(excelSource, { path, headerRow: 2, columns: ['a'] })).rejects.toThrow(
      /names 1 columns but the header row S!2 has 3/,
    );
  });

  it('quarantines a value right of the last column and skips empty rows', async () => {
    const path = await book((wb) => {
      const ws = wb.addWorksheet('S');
      ws.addRow(['a', 'b']);
      ws.addRow([1, 2]);
      ws.getCell('A4').value = 3;
      ws.getCell('C5').value = 'stray';
    });
    const r = await readSource(excelSource, { path });
    expect(plain(r.rows)).toEqual([
      { a: 1, b: 2 },
      { a: 3, b: null },
    ]);
    expect(r.harness.quarantined).toHaveLength(1);
    expect(r.harness.quarantined[0]!.reason).toMatch(/S!C5 holds a value right of the last column/);
  });

  it('resumes after the sheet row of its position', async () => {
    const path = await book((wb) => {
      const ws = wb.addWorksheet('S');
      ws.addRow(['i']);
      for (let i = 1; i <= 10; i++) ws.addRow([i]);
    });
    const first = await readSource(excelSource, { path, batchSize: 4 }, { maxBatches: 1 });
    expect(first.positions[0]).toEqual({ row: 5 });
    const rest = await readSource(excelSource, { path, batchSize: 4 }, { resumeFrom: first.positions[0]! });
    expect([...first.rows, ...rest.rows].map((r) => r.i)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await expect(readSource(excelSource, { path }, { resumeFrom: { offset: 3 } })).rejects.toMatchObject({
      code: ErrorCode.CHECKPOINT,
    });
  });

  it('refuses a file that is not a workbook, and a missing one', async () => {
    const path = join(dir, 'not.xlsx');
    writeFileSync(path, 'id,name\n1,a\n');
    await expect(readSource(excelSource, { path })).rejects.toMatchObject({ code: ErrorCode.CONFIG });
    await expect(readSource(excelSource, { path: join(dir, 'none.xlsx') })).rejects.toMatchObject({
      code: ErrorCode.NOT_FOUND,
    });
  });

  it('stops mid-sheet when cancelled, and refuses a workbook cut short', async () => {
    const path = await book((wb) => {
      const ws = wb.addWorksheet('S');
      ws.addRow(['i']);
      for (let i = 1; i <= 5000; i++) ws.addRow([i]);
    });
    const ac = new AbortController();
    const { ctx } = sourceContext<ExcelSourceConfig>(
      excelSource,
      { path, batchSize: 100 },
      { signal: ac.signal },
    );
    let read = 0;
    const run = (async () => {
      for await (const b of excelSource.read(ctx)) {
        read += b.rows.length;
        ac.abort(new Error('cancelled by test'));
      }
    })();
    await expect(run).rejects.toThrow('cancelled by test');
    expect(read).toBe(100);
    const cut = join(dir, 'cut.xlsx');
    writeFileSync(cut, readFileSync(path).subarray(0, 3000));
    await expect(readSource(excelSource, { path: cut })).rejects.toMatchObject({ code: ErrorCode.CONFIG });
    // Cut after its central directory, every part whole, only the zip's end record (its last 22
    // bytes) missing: still not the whole file. The zip parser's early end (see zip-end.ts) used to
    // hide this cut: the read was over before it showed.
    const whole = readFileSync(path);
    const inDirectory = join(dir, 'cut-directory.xlsx');
    writeFileSync(inDirectory, whole.subarray(0, whole.length - 22));
    await expect(readSource(excelSource, { path: inDirectory })).rejects.toMatchObject({
      code: ErrorCode.CONFIG,
      message: expect.stringMatching(/not a readable \.xlsx workbook .*copied whole/),
    });
  });

  it('reads every file a glob matches, naming the file', async () => {
    const sub = mkdtempSync(join(dir, 'glob-'));
    for (const [name, v] of [
      ['a.xlsx', 1],
      ['b.xlsx', 2],
    ] as const) {
      const wb = new ExcelJS.Workbook();
      wb.addWorksheet('S').addRows([['v'], [v]]);
      await wb.xlsx.writeFile(join(sub, name));
    }
    const r = await readSource(excelSource, { path: join(sub, '*.xlsx'), fileField: 'file' });
    expect(r.rows.map((x) => [x.v, String(x.file).endsWith(x.v === 1 ? 'a.xlsx' : 'b.xlsx')])).toEqual([
      [1, true],
      [2, true],
    ]);
  });
});
