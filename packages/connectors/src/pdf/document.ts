import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ErrorCode, FatalError } from '@sluice/core';
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { type Line, type TextRun, toLines } from './lines.ts';

type Pdfjs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');

let loaded: Promise<Pdfjs> | undefined;

/**
 * pdfjs, loaded on first use: a large module (its worker runs on this thread under Node) that
 * every CLI start and step process would otherwise load through the registry, PDF or not. The
 * legacy build is the one pdfjs supports on Node.
 */
function pdfjs(): Promise<Pdfjs> {
  loaded ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  return loaded;
}

// Character maps (text in CJK fonts that do not embed theirs) and the standard fonts' data, from
// the installed package: pdfjs would otherwise try to fetch them and read such text wrongly.
function dataDirs(): { cMapUrl: string; standardFontDataUrl: string } {
  const root = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
  return { cMapUrl: `${join(root, 'cmaps')}/`, standardFontDataUrl: `${join(root, 'standard_fonts')}/` };
}

/** An open PDF: its pages' text as lines. */
export interface PdfText {
  readonly pageCount: number;
  /** The lines of page `n` (1-based). */
  lines(n: number): Promise<Line[]>;
  close(): Promise<void>;
}

/**
 * Opens the PDF in `data` (the whole file). A file that is not a PDF, or that needs a password,
 * fails with CONFIG naming `file` and what to do.
 */
export async function openPdf(data: Uint8Array, file: string): Promise<PdfText> {
  notPdf(data, file);
  const lib = await pdfjs();
  const task = lib.getDocument({
    data,
    ...dataDirs(),
    // Text only: nothing is rendered, and no font program is ever turned into code.
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    enableXfa: false,
    verbosity: lib.VerbosityLevel.ERRORS,
  });
  let doc: PDFDocumentProxy;
  try {
    doc = await task.promise;
  } catch (err) {
    await task.destroy();
    throw unreadable(err, file);
  }
  return {
    pageCount: doc.numPages,
    async lines(n) {
      const page = await doc.getPage(n);
      try {
        const content = await page.getTextContent();
        return toLines(
          content.items.filter((i): i is TextRun & (typeof content.items)[number] => 'str' in i),
        );
      } finally {
        page.cleanup();
      }
    },
    close: () => doc.destroy(),
  };
}

const MAGIC = Buffer.from('%PDF-');

/**
 * A PDF starts with `%PDF-` (the standard lets a few bytes come first). What else a download
 * usually is, an HTML page (a login or error page saved in place of the report), is named.
 */
function notPdf(data: Uint8Array, file: string): void {
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.length, 1024));
  if (head.indexOf(MAGIC) >= 0) return;
  const text = head.toString('latin1').trimStart().slice(0, 200).toLowerCase();
  const what =
    data.length === 0
      ? 'it is empty'
      : text.startsWith('<!doctype html') || text.startsWith('<html') || text.includes('<body')
        ? 'it is an HTML page (a login or error page saved in place of the report?)'
        : text.startsWith('pk')
          ? 'it is a zip archive (an .xlsx or .docx?)'
          : 'it does not start with %PDF-';
  throw new FatalError(
    `${file} is not a PDF: ${what}. Check that the path names the PDF file and that it was copied whole.`,
    {
      code: ErrorCode.CONFIG,
    },
  );
}

function unreadable(err: unknown, file: string): FatalError {
  const name = (err as { name?: string })?.name;
  const message = err instanceof Error ? err.message : String(err);
  if (name === 'PasswordException') {
    return new FatalError(
      `PDF ${file} is protected by a password; Sluice reads PDFs without one. Save an unprotected copy ` +
        '(or ask for the report without a password) and read that.',
      { code: ErrorCode.CONFIG, cause: err },
    );
  }
  return new FatalError(
    `PDF ${file} cannot be read (${message}): it is damaged or not a PDF. Check that it was copied whole ` +
      'and opens in a PDF viewer.',
    { code: ErrorCode.CONFIG, cause: err },
  );
}
