import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, Registry, type Row } from '@sluice/core';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { openSink, readSource } from '../../test/harness.ts';
import { excelSink } from './sink.ts';
import { excelSource } from './source.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-excel-sink-'));
let n = 0;
const out = () => join(dir, `o${++n}.xlsx`);
const plain = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r)));

const rows: Row[] = [
  {
    id: 1,
    name: 'Ana',
    score: 9.5,
    ok: true,
    day: '2026-03-04',
    at: '2026-03-04T05:06:07.089Z',
    tags: ['a', 'b'],
  },
  { id: 2, name: 'Bruno "B"', score: -1, ok: false, day: null, at: null, tags: null },
  {
    id: 3,
    name: 'Cé, ünï',
    score: 0,
    ok: null,
    day: '2026-12-31',
    at: '2026-12-31T23:59:59Z',
    tags: { k: 1 },
  },
];

async function write(config: Record<string, unknown>, batches: Row[][]) {
  const s = await openSink(excelSink, config);
  await s.writer.start(undefined);
  for (const b of batches) await s.writer.write(b);
  return { result: await s.writer.close(), harness: s.harness };
}

describe('excel sink', () => {
  it('writes rows the excel source reads back the same, dates in dateColumns as Excel dates', async () => {
    const path = out();
    const { result } = await write({ path, dateColumns: ['day', 'at'], verify: 'content' }, [
      rows.slice(0, 1),
      rows.slice(1),
    ]);
    expect(result).toMatchObject({ rowsWritten: 3, location: path });
    expect(result.verification).toMatchObject({ level: 'content', rowsHanded: 3, rowsFound: 3 });
    expect(result.verification!.handed).toBe(result.verification!.found);
    const back = await readSource(excelSource, { path });
    expect(plain(back.rows)).toEqual(
      rows.map((r) => ({
        ...r,
        at: r.at === '2026-12-31T23:59:59Z' ? '2026-12-31T23:59:59.000Z' : r.at,
        tags: r.tags === null ? null : JSON.stringify(r.tags),
      })),
    );
    // The cells are dates to Excel, not text.
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(path);
    const ws = wb.getWorksheet('Sheet1')!;
    expect(ws.getCell('E2').value).toBeInstanceOf(Date);
    expect(ws.getCell('F2').value).toBeInstanceOf(Date);
    expect(ws.getCell('A1').value).toBe('id');
  });

  it('keeps date text as text without dateColumns, and quarantines a value that is no date', async () => {
    const path = out();
    const { result, harness } = await write({ path, dateColumns: ['day'], sheet: 'Out', header: false }, [
      [{ day: '2026-01-02' }, { day: 'soon' }, { day: '2026-01-03' }],
    ]);
    expect(result.rowsWritten).toBe(2);
    expect(harness.quarantined).toHaveLength(1);
    expect(harness.quarantined[0]!.reason).toMatch(/field "day" is listed in dateColumns but "soon"/);
    const back = await readSource(excelSource, { path, sheet: 'Out', header: false, columns: ['day'] });
    expect(plain(back.rows)).toEqual([{ day: '2026-01-02' }, { day: '2026-01-03' }]);
    const text = out();
    await write({ path: text }, [[{ day: '2026-01-02' }]]);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(text);
    expect(wb.getWorksheet('Sheet1')!.getCell('A2').value).toBe('2026-01-02');
  });

  it('writes the columns given, in order, and refuses a later field the first row did not have', async () => {
    const path = out();
    await write({ path, columns: ['b', 'a'] }, [[{ a: 1, b: 2, c: 3 }, { a: 4 }]]);
    expect(plain((await readSource(excelSource, { path })).rows)).toEqual([
      { b: 2, a: 1 },
      { b: null, a: 4 },
    ]);
    const s = await openSink(excelSink, { path: out() });
    await s.writer.start(undefined);
    await expect(s.writer.write([{ a: 1 }, { a: 2, extra: 3 }])).rejects.toThrow(
      /output row 2 has field "extra", which the first row did not \(columns: a\)/,
    );
    await s.writer.abort(new Error('failed'));
  });

  it('is not visible before close, and leaves no partial file after abort', async () => {
    const path = out();
    const s = await openSink(excelSink, { path });
    await s.writer.start(undefined);
    await s.writer.write(rows);
    await s.writer.commit({ seq: 1, position: null });
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.partial`)).toBe(true);
    await s.writer.close();
    expect(existsSync(path)).toBe(true);
    expect(existsSync(`${path}.partial`)).toBe(false);
    const b = await openSink(excelSink, { path: out() });
    await b.writer.start(undefined);
    await b.writer.write(rows);
    await b.writer.abort(new Error('crash'));
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('refuses an existing file with overwrite: false, before writing anything', async () => {
    const path = out();
    writeFileSync(path, 'keep');
    const s = await openSink(excelSink, { path, overwrite: false });
    await expect(s.writer.start(undefined)).rejects.toThrow(/already exists and config.overwrite is false/);
    expect(existsSync(`${path}.partial`)).toBe(false);
  });

  it('refuses to resume: the workbook restarts and the step must run again without resume', async () => {
    const path = out();
    const a = await openSink(excelSink, { path });
    await a.writer.start(undefined);
    await a.writer.write(rows);
    const state = await a.writer.commit({ seq: 1, position: null });
    expect(state).not.toBeUndefined();
    await a.writer.abort(new Error('crash'));
    const b = await openSink(excelSink, { path });
    await expect(b.writer.start(state ?? undefined)).rejects.toMatchObject({ code: ErrorCode.CHECKPOINT });
    expect(b.writer.startAppend).toBeUndefined();
  });

  it('writes an empty workbook for no rows, and checks its config', async () => {
    const path = out();
    const { result } = await write({ path }, []);
    expect(result.rowsWritten).toBe(0);
    expect((await readSource(excelSource, { path })).rows).toEqual([]);
    const registry = new Registry();
    expect(registry.check(excelSink, { path: 'x.xlsx', sheet: 'a/b' }, 'with').length).toBeGreaterThan(0);
    expect(registry.check(excelSink, { path: 'x.csv' }, 'with')).toMatchObject([{ path: 'with.path' }]);
  });
});
