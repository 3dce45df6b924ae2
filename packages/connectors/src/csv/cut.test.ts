import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countLines } from '../shared/line-cut.ts';
import { CsvCutter } from './cut.ts';
import { CsvParser } from './parse.ts';

type Rec = { fields: string[] | null; line: number; offset: number; raw: string; reason?: string };

/** Every record of `bytes`, parsed as a chunk starting at `offset` and `line`. */
function records(
  bytes: Buffer,
  offset: number,
  line: number,
  delimiter: string,
  lenientQuotes = false,
): Rec[] {
  const out: Rec[] = [];
  const parser: CsvParser = new CsvParser(
    { delimiter, newline: 'lf', startOffset: offset, startLine: line, skipEmptyLines: false, lenientQuotes },
    {
      record: (fields, at) =>
        out.push({ fields, line: at, offset: parser.recordOffset(), raw: parser.recordRaw() }),
      malformed: (reason, at) =>
        out.push({ fields: null, line: at, offset: parser.recordOffset(), raw: parser.recordRaw(), reason }),
    },
  );
  parser.write(bytes);
  parser.end();
  parser.parse(Number.POSITIVE_INFINITY);
  return out;
}

/** Cuts `bytes` as the parallel path does, reading `piece` bytes at a time, and parses each chunk. */
function inChunks(
  bytes: Buffer,
  piece: number,
  delimiter: string,
  skip: number,
  lenientQuotes = false,
): Rec[] {
  const cutter = new CsvCutter('"', delimiter, skip, lenientQuotes);
  const out: Rec[] = [];
  let pending = Buffer.alloc(0);
  let scanned = 0;
  let offset = 0;
  let line = 1;
  const emit = (chunk: Buffer) => {
    out.push(...records(chunk, offset, line, delimiter, lenientQuotes));
    offset += chunk.length;
    line += countLines(chunk);
  };
  for (let at = 0; at < bytes.length; at += piece) {
    pending = Buffer.concat([pending, bytes.subarray(at, at + piece)]);
    const cut = cutter.cut(pending, scanned);
    scanned = cut.scanned;
    if (cut.boundary > 0) {
      emit(pending.subarray(0, cut.boundary));
      pending = pending.subarray(cut.boundary);
      scanned -= cut.boundary;
    }
  }
  if (pending.length > 0) emit(pending);
  return out;
}

describe('CsvCutter', () => {
  it('cuts only where the parser ends a record: quoted, doubled and stray quotes, CRLF', () => {
    const text =
      'a,"b\nc",d\r\ne"f,g\n"h""\n",i\n"j"k"\n,l\n"""",\n"Cy"d,30\n1,"stray\n2,x\n3,y"z,"q\n4"\n' +
      '"c"\r\n"d"\rx\n"open\n5,6\n';
    const bytes = Buffer.from(text);
    for (const lenient of [false, true]) {
      const whole = records(bytes, 0, 1, ',', lenient);
      expect(whole.some((r) => r.fields === null)).toBe(true);
      for (let piece = 1; piece <= bytes.length; piece++)
        expect(inChunks(bytes, piece, ',', 0, lenient)).toEqual(whole);
    }
  });

  it('agrees with the parser on any text, cut in any pieces', () => {
    const char = fc.constantFrom('a', 'é', ',', ';', '"', '\n', '\r', ' ');
    fc.assert(
      fc.property(
        fc.array(char, { maxLength: 120 }).map((cs) => cs.join('')),
        fc.integer({ min: 1, max: 17 }),
        fc.constantFrom(',', ';'),
        fc.boolean(),
        (text, piece, delimiter, lenient) => {
          const bytes = Buffer.from(text);
          expect(inChunks(bytes, piece, delimiter, 0, lenient)).toEqual(
            records(bytes, 0, 1, delimiter, lenient),
          );
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('takes a first record it is told of as one, whatever it holds (a BOM before its quote)', () => {
    const bytes = Buffer.from('\uFEFF"a\nb",c\nd,"e\nf"\n');
    const first = Buffer.byteLength('\uFEFF"a\nb",c\n');
    const cutter = new CsvCutter('"', ',', first);
    expect(cutter.cut(bytes, 0)).toEqual({ boundary: bytes.length, scanned: bytes.length });
    // Read in pieces shorter than that record, it is not cut before its end.
    const pieces = new CsvCutter('"', ',', first);
    expect(pieces.cut(bytes.subarray(0, 4), 0)).toEqual({ boundary: -1, scanned: 0 });
    expect(pieces.cut(bytes.subarray(0, first + 2), 0)).toEqual({ boundary: first, scanned: first + 2 });
  });
});
