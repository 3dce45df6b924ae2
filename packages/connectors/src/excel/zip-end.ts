import type { Readable } from 'node:stream';

/**
 * Makes `input` safe to hand to exceljs's streaming reader, which pipes it into an unzipper
 * `Parse` stream and reads that stream's entries until its 'end' event.
 *
 * unzipper 0.10 (the range exceljs 4.4 pins) emits 'end' on the parser as soon as its writable
 * side finishes, that is as soon as the last bytes of the zip are parsed — even when entries it
 * has already pushed still wait in its readable buffer because the reader was busy (spooling a
 * sheet to a temporary file, parsing the shared strings) and had paused it. exceljs then stops at
 * that 'end' and silently never sees the entries still buffered: `xl/workbook.xml` (then a sheet
 * is parsed with no workbook model: "Cannot read properties of undefined (reading 'sheets')"),
 * the shared strings (then text cells come out as `{ sharedString: n }`), or later sheets. The
 * reader is slow exactly when the machine is loaded, so this fails at random (exceljs#3064).
 *
 * The parser's true end comes from `push(null)` after the zip's end-of-central-directory record
 * (or an error for a truncated zip), once its buffered entries are read: only that one is let
 * through; the early one emitted from 'finish' is dropped.
 */
export function holdEarlyEnd<T extends Readable>(input: T): T {
  const pipe = input.pipe;
  input.pipe = function pipeHoldingEnd<D extends NodeJS.WritableStream>(
    this: T,
    dest: D,
    options?: { end?: boolean },
  ): D {
    const parser = dest as unknown as Readable;
    const emit = parser.emit;
    parser.emit = function emitTrueEnd(this: Readable, event: string | symbol, ...args: unknown[]): boolean {
      // Readable sets readableEnded just before it emits its own 'end'.
      if (event === 'end' && !this.readableEnded) return false;
      return emit.call(this, event, ...args);
    };
    return pipe.call(this, dest, options) as D;
  };
  return input;
}
