import { describe, expect, it } from 'vitest';
import { type CsvParseOptions, CsvParser } from './parse.ts';

interface Parsed {
  records: { fields: string[]; line: number; quoted: boolean[] | null; offset: number; raw: string }[];
  malformed: { reason: string; line: number; offset: number; raw: string }[];
  offset: number;
  line: number;
}

function chunksOf(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

function parse(
  input: string | Buffer | Buffer[],
  options: Partial<CsvParseOptions> = {},
  limit = 1000,
): Parsed {
  const out: Parsed = { records: [], malformed: [], offset: 0, line: 0 };
  const parser: CsvParser = new CsvParser(options, {
    record: (fields, line, quoted) =>
      out.records.push({ fields, line, quoted, offset: parser.recordOffset(), raw: parser.recordRaw() }),
    malformed: (reason, line) =>
      out.malformed.push({ reason, line, offset: parser.recordOffset(), raw: parser.recordRaw() }),
  });
  const chunks = Array.isArray(input) ? input : [typeof input === 'string' ? Buffer.from(input) : input];
  for (const chunk of chunks) {
    parser.write(chunk);
    while (parser.parse(limit) === limit);
  }
  parser.end();
  while (parser.parse(limit) === limit);
  expect(parser.done).toBe(true);
  out.offset = parser.offset;
  out.line = parser.line;
  return out;
}

const fields = (p: Parsed) => p.records.map((r) => r.fields);
const lines = (p: Parsed) => p.records.map((r) => r.line);
/** Each record as `line: field|field`, and each malformed one as `line: ✗ raw`, in file order. */
const byLine = (p: Parsed) =>
  [
    ...p.records.map((r) => [r.line, r.fields.join('|')] as const),
    ...p.malformed.map((m) => [m.line, `✗ ${m.raw}`] as const),
  ]
    .sort((a, b) => a[0] - b[0])
    .map(([line, text]) => `${line}: ${text}`);

describe('CsvParser', () => {
  it('reads quoted delimiters, escaped quotes and empty fields', () => {
    const p = parse('a,b,c\n"x,y","say ""hi""",\n"",,""""\n');
    expect(fields(p)).toEqual([
      ['a', 'b', 'c'],
      ['x,y', 'say "hi"', ''],
      ['', '', '"'],
    ]);
    expect(p.records[0]!.quoted).toBeNull();
    expect(p.records[1]!.quoted?.[0]).toBe(true);
    expect(p.records[1]!.quoted?.[2]).toBeFalsy();
    expect(p.records[2]!.quoted?.[0]).toBe(true);
    expect(p.records[2]!.quoted?.[1]).toBeFalsy();
  });

  it('keeps newlines inside quotes and numbers the lines after them', () => {
    const p = parse('h1,h2\n1,"two\nlines"\n2,"three\r\nmore\nlines"\n3,x\n');
    expect(fields(p)).toEqual([
      ['h1', 'h2'],
      ['1', 'two\nlines'],
      ['2', 'three\r\nmore\nlines'],
      ['3', 'x'],
    ]);
    expect(lines(p)).toEqual([1, 2, 4, 7]);
    expect(p.line).toBe(8);
  });

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR only', '\r'],
  ])('splits %s records, with and without a final terminator', (_name, nl) => {
    const body = ['a,b', '1,"q', 'x"', '2,z'].join(nl);
    for (const text of [body, body + nl]) {
      const p = parse(text);
      expect(fields(p)).toEqual([
        ['a', 'b'],
        ['1', `q${nl}x`],
        ['2', 'z'],
      ]);
      expect(lines(p)).toEqual([1, 2, 4]);
      expect(p.offset).toBe(Buffer.byteLength(text));
    }
  });

  it('treats a lone CR inside an LF file as data', () => {
    expect(fields(parse('a,b\nx\ry,z\n'))).toEqual([
      ['a', 'b'],
      ['x\ry', 'z'],
    ]);
  });

  it('strips a UTF-8 byte order mark but counts its bytes', () => {
    const p = parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('id,name\n1,é\n')]));
    expect(fields(p)).toEqual([
      ['id', 'name'],
      ['1', 'é'],
    ]);
    expect(p.records[1]!.offset).toBe(11);
    expect(p.offset).toBe(16);
  });

  it('honours a custom delimiter and quote', () => {
    const p = parse("a;b\n'x;y';'it''s'\n", { delimiter: ';', quote: "'" });
    expect(fields(p)).toEqual([
      ['a', 'b'],
      ['x;y', "it's"],
    ]);
    expect(fields(parse('a\tb\n"x\ty"\tz\n', { delimiter: '\t' }))).toEqual([
      ['a', 'b'],
      ['x\ty', 'z'],
    ]);
  });

  it('treats a quote inside an unquoted field as data', () => {
    expect(fields(parse('5\'11",O"Brien\n'))).toEqual([['5\'11"', 'O"Brien']]);
  });

  it('sets aside a record with text after a closing quote, unless lenientQuotes keeps it', () => {
    const text = 'id,name,n\n1,"Ann",10\n3,"Cy"d,30\n4,"Di"\r\n5,"E""e"x,1\n6,"F",6';
    const strict = parse(text);
    expect(byLine(strict)).toEqual([
      '1: id|name|n',
      '2: 1|Ann|10',
      '3: ✗ 3,"Cy"d,30',
      '4: 4|Di',
      '5: ✗ 5,"E""e"x,1',
      '6: 6|F|6',
    ]);
    expect(strict.malformed.map((m) => m.offset)).toEqual([21, 40]);
    expect(strict.malformed[0]!.reason).toBe(
      'field 2 has text after its closing quote (`"Cy"d,30`); RFC 4180 allows only a delimiter or a line end ' +
        'there. Double a quote inside a quoted field (""), or set lenientQuotes: true to read the text after the ' +
        'quote as part of the field.',
    );
    const lenient = parse(text, { lenientQuotes: true });
    expect(fields(lenient)).toEqual([
      ['id', 'name', 'n'],
      ['1', 'Ann', '10'],
      ['3', 'Cyd', '30'],
      ['4', 'Di'],
      ['5', 'E"ex', '1'],
      ['6', 'F', '6'],
    ]);
    expect(lenient.malformed).toEqual([]);
  });

  it('resynchronises after a stray quote whose field closes lines later with text after it', () => {
    // The quote on line 2 opens a field that the quote on line 4 closes; `x` follows it. Only line 2
    // is set aside: lines 3 and 4 are read again as records.
    const p = parse('a,b\n1,"stray\n2,two\n3,th"x\n4,four\n');
    expect(byLine(p)).toEqual(['1: a|b', '2: ✗ 1,"stray', '3: 2|two', '4: 3|th"x', '5: 4|four']);
    expect(p.malformed[0]!.reason).toMatch(/^the quote opening field 2 at line 2 is not closed on that line/);
  });

  it('decodes Latin-1', () => {
    const p = parse(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2c, 0x78, 0x0a]), { encoding: 'latin1' });
    expect(fields(p)).toEqual([['café', 'x']]);
    expect(p.offset).toBe(7);
  });

  it('refuses invalid UTF-8 and suggests latin1', () => {
    expect(() => parse(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2c, 0x78, 0x0a]))).toThrow(/encoding: latin1/);
  });

  it('decodes characters and CRLF pairs split at every byte position', () => {
    const text = 'name,note\r\n"Zoë, 🎉","a€b"\r\n日本,"x""y\r\nz"\r\nplain,𝄞\r\n';
    const buf = Buffer.from(text);
    const expected = parse(buf);
    expect(fields(expected)).toEqual([
      ['name', 'note'],
      ['Zoë, 🎉', 'a€b'],
      ['日本', 'x"y\r\nz'],
      ['plain', '𝄞'],
    ]);
    for (let cut = 1; cut < buf.length; cut++) {
      const p = parse([buf.subarray(0, cut), buf.subarray(cut)]);
      expect({ cut, records: p.records, offset: p.offset }).toEqual({
        cut,
        records: expected.records,
        offset: expected.offset,
      });
    }
    for (const size of [1, 2, 3, 5]) {
      expect(parse(chunksOf(buf, size)).records).toEqual(expected.records);
    }
  });

  it('reports the byte offset of each record and after each parse call', () => {
    const text = 'id,v\n1,ä\n2,"b\nc"\n3,€\n';
    const parser: CsvParser = new CsvParser({}, { record: () => {}, malformed: () => {} });
    parser.write(Buffer.from(text));
    const offsets: number[] = [];
    while (parser.parse(1) === 1) offsets.push(parser.offset);
    const expected = ['id,v\n', '1,ä\n', '2,"b\nc"\n', '3,€\n'].map((_, i, all) =>
      Buffer.byteLength(all.slice(0, i + 1).join('')),
    );
    expect(offsets).toEqual(expected);
  });

  it('keeps byte offsets and records whole across the pieces a large chunk is decoded in', () => {
    // Multi-byte characters straddle piece boundaries; a quoted field spans several pieces.
    const lines = ['id,v'];
    for (let i = 0; i < 3000; i++)
      lines.push(`${i},${i % 7 === 0 ? '"日本 🚚, ""q""\n"' : 'é'.repeat(i % 50)}`);
    lines.push(`x,"${'ü'.repeat(100_000)}"`);
    const text = `${lines.join('\n')}\n`;
    const whole = parse(Buffer.from(text), {}, 7);
    expect(whole.records.length).toBe(lines.length);
    expect(whole.offset).toBe(Buffer.byteLength(text));
    const starts = lines.map((_, i) => Buffer.byteLength(lines.slice(0, i).join('\n')) + (i > 0 ? 1 : 0));
    expect(whole.records.map((r) => r.offset)).toEqual(starts);
    expect(parse(chunksOf(Buffer.from(text), 100_003)).records).toEqual(whole.records);
  });

  it('reports a quote never closed at the line it opened on, and reads the lines after it', () => {
    for (const lenientQuotes of [false, true]) {
      const p = parse('a,b\n1,2\n3,"open\n4,5\n6,7\n', { lenientQuotes });
      expect(byLine(p)).toEqual(['1: a|b', '2: 1|2', '3: ✗ 3,"open', '4: 4|5', '5: 6|7']);
      expect(p.malformed).toEqual([
        {
          reason:
            'the quote opening field 2 at line 3 is not closed on that line (it is never closed, or closed lines ' +
            'later and followed by other text): line 3 is set aside and reading goes on with the next line. A quote ' +
            'inside a field must be doubled ("") and the field quoted.',
          line: 3,
          offset: 8,
          raw: '3,"open',
        },
      ]);
    }
    // Opened on the record's second line, after a quoted line break: that line is named.
    const later = parse('1,"x\ny","open\n2,3');
    expect(fields(later)).toEqual([['2', '3']]);
    expect(later.malformed[0]).toMatchObject({ line: 1, raw: '1,"x\ny","open' });
    expect(later.malformed[0]!.reason).toMatch(
      /^the quote opening field 3 at line 2 is not closed on that line/,
    );
  });

  it('gives up on a record that stays open past maxRecordChars, naming its line', () => {
    const parser = new CsvParser({ maxRecordChars: 50 }, { record: () => {}, malformed: () => {} });
    parser.write(Buffer.from('a\n"never closed'));
    parser.parse(10);
    expect(() => {
      for (let i = 0; i < 20; i++) {
        parser.write(Buffer.from('xxxxxxxxxx\n'));
        parser.parse(10);
      }
    }).toThrow(/record starting at line 2 is still open/);
  });

  it('skips empty lines unless told not to, counting them either way', () => {
    const text = 'a\n\n1\r\n\r\n2\n';
    const skip = parse(text);
    expect(fields(skip)).toEqual([['a'], ['1'], ['2']]);
    expect(lines(skip)).toEqual([1, 3, 5]);
    const keep = parse(text, { skipEmptyLines: false });
    expect(fields(keep)).toEqual([['a'], [''], ['1'], [''], ['2']]);
  });

  it('continues from a resumed offset and line', () => {
    const p = parse('3,c\n4,d\n', { startOffset: 100, startLine: 7 });
    expect(lines(p)).toEqual([7, 8]);
    expect(p.records.map((r) => r.offset)).toEqual([100, 104]);
    expect(p.offset).toBe(108);
  });

  it('hands unquoted records to the fast path and falls back when it declines', () => {
    const seen: string[] = [];
    const parser = new CsvParser(
      {},
      {
        line: (s, start, end, line) => {
          seen.push(`fast ${line}: ${s.slice(start, end)}`);
          return !s.slice(start, end).startsWith('x');
        },
        record: (f, line) => seen.push(`record ${line}: ${f.join('|')}`),
        malformed: () => {},
      },
    );
    parser.write(Buffer.from('a,b\r\nx,y\n"q",1\n'));
    parser.end();
    parser.parse(10);
    expect(seen).toEqual(['fast 1: a,b', 'fast 2: x,y', 'record 2: x|y', 'record 3: q|1']);
  });
});

describe('CsvParser on a huge record', () => {
  it('reads a 16 MB quoted field fed in 4 KiB chunks in linear time', () => {
    const big = 'x'.repeat(16 << 20);
    const buf = Buffer.from(`a,b\n1,"${big}"\n2,z\n`);
    const started = performance.now();
    const p = parse(chunksOf(buf, 4096));
    // Rescanning the open record on every chunk would take minutes here.
    expect(performance.now() - started).toBeLessThan(5000);
    expect(p.records.map((r) => r.fields[1]!.length)).toEqual([1, big.length, 1]);
    expect(lines(p)).toEqual([1, 2, 3]);
  });
});
