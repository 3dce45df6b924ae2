import type ExcelJS from 'exceljs';

let loaded: Promise<typeof ExcelJS> | undefined;

/**
 * exceljs, loaded on first use: it costs ~0.4 s of CPU to import (measured), which every CLI
 * start, step process and worker thread would pay through the registry, excel or not.
 */
export function exceljs(): Promise<typeof ExcelJS> {
  loaded ??= import('exceljs').then((m) => m.default);
  return loaded;
}
