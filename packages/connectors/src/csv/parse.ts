import { ErrorCode, SluiceError } from '@sluice/core';
import { type ChunkDecoder, createDecoder, type TextEncodingName } from './text-decode.ts';

export interface CsvParseOptions {
  /** A single character. @defaultValue ',' */
  delimiter: string;
  /** A single character. @defaultValue '"' */
  quote: string;
  /** Skip records with no characters at all (their lines still count). @defaultValue true */
  skipEmptyLines: boolean;
  /**
   * Text between a closing quote and the next delimiter or line end (`"Cy"d`) is kept, appended
   * to the field (`Cyd`), instead of making the record malformed as RFC 4180 has it.
   * @defaultValue false
   */
  lenientQuotes: boolean;
  /** @defaultValue 'utf8' */
  encoding: TextEncodingName;
  /** Byte offset in the file of the first chunk written: a resumed read starts mid-file. */
  startOffset: number;
  /** 1-based line number of the first record written. */
  startLine: number;
  /** A record still open after this many characters is refused: most likely a stray quote. */
  maxRecordChars: number;
  /** Used in error messages: the component and file being read. */
  where: string;
  /**
   * `detect`: the first record's terminator decides between LF (CRLF accepted) and CR. `lf`: LF,
   * without looking, for a chunk cut from the middle of a file whose terminator is known.
   */
  newline: 'detect' | 'lf';
}

export const csvParseDefaults = {
  delimiter: ',',
  quote: '"',
  skipEmptyLines: true,
  lenientQuotes: false,
  encoding: 'utf8',
  startOffset: 0,
  startLine: 1,
  maxRecordChars: 1 << 28,
  where: 'csv',
  newline: 'detect',
} as const satisfies CsvParseOptions;

/** Receives records in file order; may call the parser's `record*` methods while it runs. */
export interface CsvRecordHandler {
  /**
   * Optional fast path for a record with no quote in it: its text is `s.slice(start, end)`.
   * Return false to receive it through `record` instead (a field count it did not expect, say).
   * Taking the slice apart in place with indexOf is ~2x faster than split plus a row from the array.
   */
  line?(s: string, start: number, end: number, line: number): boolean;
  /** `quoted[i]` is true when field i was quoted; `quoted` is null when no field was. */
  record(fields: string[], line: number, quoted: boolean[] | null): void;
  /**
   * A record that cannot be split into fields: a quote never closed, or (unless `lenientQuotes`)
   * text after a closing quote. Its text runs from its start to the end of the line where the
   * bad quoted field opened; the next record starts on the line after (see #malformed).
   */
  malformed(reason: string, line: number): void;
}

/**
 * Bytes decoded into one piece of text. Measured (Node 20, the 1M-row file): decoding 128 KiB
 * at a time cost ~3x as much as 32-64 KiB, most of it system time, because a string over V8's
 * regular object size (128 KiB; two bytes a character once any character is beyond Latin-1) is
 * allocated in its own mapping. Field values are slices of this text, so it also pins less.
 */
const PIECE_BYTES = 1 << 15;

const LF = 10;
const CR = 13;
const UNKNOWN = -2;

/**
 * A streaming RFC 4180 parser. Write chunks, then call `parse` until it returns less than asked;
 * only complete records are handed out, so characters, quoted fields and CRLF pairs split across
 * chunks come out whole. Unquoted lines take a fast path (indexOf + split); a record holding a
 * quote takes the slower field-by-field path. A quote opens a quoted field only at a field's
 * start; elsewhere it is an ordinary character. A closing quote must be followed by a delimiter,
 * a line end or the end of the input (unless `lenientQuotes`). CsvCutter follows the same rules.
 */
export class CsvParser {
  readonly #h: CsvRecordHandler;
  readonly #dec: ChunkDecoder;
  readonly #delim: string;
  readonly #dc: number;
  readonly #quote: string;
  readonly #qc: number;
  readonly #skipEmpty: boolean;
  readonly #lenient: boolean;
  readonly #maxChars: number;
  readonly #where: string;
  readonly #latin1: boolean;

  #text = '';
  #pos = 0;
  #pieces: string[] = [];
  /** Byte offset of the end of each piece. */
  #pieceEnds: number[] = [];
  #piecesLen = 0;
  #final = false;
  /** `end` was called and no text waits to be merged: a record cut short by the text's end is complete. */
  #eof = false;
  /** The text holds no complete record: parse nothing until #merge or `end`. */
  #blocked = false;
  // A blocked record is retried once this much text is waiting, so a huge record is rescanned
  // O(log n) times rather than once per chunk.
  #retryAt = 0;
  #line: number;
  /** Record terminator: LF (also accepting CRLF) or CR; found from the first record. */
  #nl = -1;
  #nlChar = '\n';
  /** Index of the next quote at or after #pos, -1 when none is left in #text. */
  #q = UNKNOWN;
  /** Byte offset of the end of #text. */
  #endBytes: number;
  #anchorIdx = -1;
  #anchorBytes = 0;
  #recStart = 0;
  #recEnd = 0;
  // Results of #slow, kept in fields to avoid allocating a result object per record.
  #fields: string[] | null = null;
  #quoted: boolean[] | null = null;
  #inner = 0;
  /** Why the record #slow parsed is malformed (#fields is then null). */
  #reason = '';

  constructor(options: Partial<CsvParseOptions>, handler: CsvRecordHandler) {
    const o: CsvParseOptions = { ...csvParseDefaults, ...options };
    this.#h = handler;
    this.#delim = o.delimiter;
    this.#dc = o.delimiter.charCodeAt(0);
    this.#quote = o.quote;
    this.#qc = o.quote.charCodeAt(0);
    this.#skipEmpty = o.skipEmptyLines;
    this.#lenient = o.lenientQuotes;
    this.#maxChars = o.maxRecordChars;
    this.#where = o.where;
    this.#latin1 = o.encoding === 'latin1';
    this.#line = o.startLine;
    this.#endBytes = o.startOffset;
    if (o.newline === 'lf') this.#setNl(LF);
    this.#dec = createDecoder(o.encoding, {
      startOffset: o.startOffset,
      stripBom: o.startOffset === 0,
      where: o.where,
    });
  }

  write(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; at += PIECE_BYTES) {
      this.#add(
        this.#dec.write(
          at === 0 && chunk.length <= PIECE_BYTES ? chunk : chunk.subarray(at, at + PIECE_BYTES),
        ),
      );
    }
  }

  /** No more input: the last record may lack its terminator. */
  end(): void {
    this.#add(this.#dec.end());
    this.#final = true;
    this.#blocked = false;
    this.#retryAt = 0;
  }

  /** The record terminator once the first record is parsed: LF (CRLF too) or CR. */
  get newline(): 'lf' | 'cr' | undefined {
    return this.#nl < 0 ? undefined : this.#nl === LF ? 'lf' : 'cr';
  }

  /** Line number of the next record. */
  get line(): number {
    return this.#line;
  }

  /** True once `end` was called and every record was handed out. */
  get done(): boolean {
    return this.#final && this.#pieces.length === 0 && this.#pos >= this.#text.length;
  }

  /** Byte offset just after the last record handed out: where a resumed read starts. */
  get offset(): number {
    return this.#bytesAt(this.#pos);
  }

  /** Within a handler call: byte offset where the current record starts. */
  recordOffset(): number {
    return this.#bytesAt(this.#recStart);
  }

  /** Within a handler call: the current record's text, without its terminator. */
  recordRaw(): string {
    return this.#text.slice(this.#recStart, this.#recEnd);
  }

  /** Hands up to `limit` records to the handler; fewer means more input is needed (or done). */
  parse(limit: number): number {
    let count = 0;
    for (;;) {
      // A blocked record is not rescanned until new text arrives: that would cost O(n²) on a huge one.
      if (!this.#blocked) {
        count += this.#run(limit - count);
        if (count >= limit) return count;
      }
      if (!this.#merge()) return count;
    }
  }

  #add(text: string): void {
    if (text.length === 0) return;
    this.#pieces.push(text);
    this.#pieceEnds.push(this.#dec.bytes);
    this.#piecesLen += text.length;
  }

  /** Appends waiting text to the unconsumed rest; false when there is none (or not enough yet). */
  #merge(): boolean {
    const rest = this.#text.length - this.#pos;
    if (this.#pieces.length === 0) return false;
    if (!this.#final && rest + this.#piecesLen < this.#retryAt) return false;
    if (rest > this.#maxChars) {
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${this.#where}: the record starting at line ${this.#line} is still open after ${rest} characters; ` +
          `most likely a quote (${this.#quote}) is never closed. Fix the file, or set \`quote\` if the file uses another character.`,
      );
    }
    if (this.#anchorIdx >= this.#pos) this.#anchorIdx -= this.#pos;
    else this.#anchorIdx = -1;
    // One piece at a time while the rest is short keeps #text small (see PIECE_BYTES); a long open
    // record takes all the waiting text at once, so it is rescanned only O(log n) times.
    const take = rest < PIECE_BYTES ? 1 : this.#pieces.length;
    const added = take === 1 ? this.#pieces[0]! : this.#pieces.join('');
    this.#text = rest > 0 ? this.#text.slice(this.#pos) + added : added;
    this.#pos = 0;
    this.#endBytes = this.#pieceEnds[take - 1]!;
    if (take === this.#pieces.length) {
      this.#pieces = [];
      this.#pieceEnds = [];
    } else {
      this.#pieces.splice(0, take);
      this.#pieceEnds.splice(0, take);
    }
    this.#piecesLen -= added.length;
    this.#q = UNKNOWN;
    this.#blocked = false;
    return true;
  }

  // Measures the shorter side: forward from the last known point or back from the text's end.
  #bytesAt(idx: number): number {
    if (this.#latin1) return this.#endBytes - (this.#text.length - idx);
    const a = this.#anchorIdx;
    const bytes =
      a >= 0 && a <= idx && idx - a < this.#text.length - idx
        ? this.#anchorBytes + Buffer.byteLength(this.#text.slice(a, idx))
        : this.#endBytes - Buffer.byteLength(this.#text.slice(idx));
    this.#anchorIdx = idx;
    this.#anchorBytes = bytes;
    return bytes;
  }

  #run(limit: number): number {
    const s = this.#text;
    const n = s.length;
    this.#eof = this.#final && this.#pieces.length === 0;
    if (this.#nl < 0 && !this.#detect(s, n)) return this.#block(0);
    const h = this.#h;
    const final = this.#eof;
    const nl = this.#nl;
    const nlChar = this.#nlChar;
    const quote = this.#quote;
    const delim = this.#delim;
    const skipEmpty = this.#skipEmpty;
    const fast = h.line !== undefined;
    let pos = this.#pos;
    let q = this.#q;
    let line = this.#line;
    let count = 0;
    let blocked = false;
    while (count < limit && pos < n) {
      let eol = s.indexOf(nlChar, pos);
      if (q < pos && q !== -1) q = s.indexOf(quote, pos);
      if (q === -1 || (eol !== -1 && q > eol)) {
        let next = eol + 1;
        if (eol === -1) {
          if (!final) {
            blocked = true;
            break;
          }
          eol = n;
          next = n;
        }
        const end = nl === LF && eol > pos && s.charCodeAt(eol - 1) === CR ? eol - 1 : eol;
        if (end === pos && skipEmpty) {
          line++;
          pos = next;
          continue;
        }
        this.#recStart = pos;
        this.#recEnd = end;
        if (!fast || !h.line!(s, pos, end, line)) h.record(s.slice(pos, end).split(delim), line, null);
        line++;
        pos = next;
      } else {
        const next = this.#slow(s, pos, line);
        if (next < 0) {
          blocked = true;
          break;
        }
        this.#recStart = pos;
        const fields = this.#fields;
        if (fields === null) h.malformed(this.#reason, line);
        else h.record(fields, line, this.#quoted);
        line += 1 + this.#inner;
        pos = next;
      }
      count++;
    }
    this.#pos = pos;
    this.#q = q;
    this.#line = line;
    return blocked || pos >= n ? this.#block(count) : count;
  }

  #block(count: number): number {
    this.#blocked = true;
    this.#retryAt = 2 * (this.#text.length - this.#pos);
    return count;
  }

  /**
   * Picks the record terminator from the first one outside quotes, with the parser's rules: a
   * quote opens a quoted field only at a field's start (`5" tv` holds an ordinary one, which must
   * not hide the line's end), and `""` inside one is a quote. A CR at the end of the text waits for
   * the next chunk, since it may be the first half of a CRLF.
   */
  #detect(s: string, n: number): boolean {
    let inQuotes = false;
    for (let i = this.#pos; i < n; i++) {
      const c = s.charCodeAt(i);
      if (inQuotes) {
        if (c !== this.#qc) continue;
        if (i + 1 < n) {
          if (s.charCodeAt(i + 1) === this.#qc) i++;
          else inQuotes = false;
        } else if (!this.#eof) return false;
        continue;
      }
      if (c === this.#qc) {
        if (i === this.#pos || s.charCodeAt(i - 1) === this.#dc) inQuotes = true;
      } else if (c === LF) return this.#setNl(LF);
      else if (c === CR) {
        if (i + 1 < n) return this.#setNl(s.charCodeAt(i + 1) === LF ? LF : CR);
        if (this.#eof) return this.#setNl(CR);
        return false;
      }
    }
    return this.#eof ? this.#setNl(LF) : false;
  }

  #setNl(nl: number): true {
    this.#nl = nl;
    this.#nlChar = String.fromCharCode(nl);
    return true;
  }

  /**
   * Parses the record at `pos` (on `line`) field by field into #fields/#quoted/#inner/#recEnd and
   * returns the index after its terminator, or -1 when the text ends first. A malformed quoted
   * field leaves #fields null (see #malformed).
   */
  #slow(s: string, pos: number, line: number): number {
    const n = s.length;
    const final = this.#eof;
    const qc = this.#qc;
    const dc = this.#dc;
    const nl = this.#nl;
    const fields: string[] = [];
    let quoted: boolean[] | null = null;
    let inner = 0;
    let i = pos;
    for (;;) {
      let val = '';
      if (i < n && s.charCodeAt(i) === qc) {
        const open = i;
        let j = i + 1;
        for (;;) {
          const k = s.indexOf(this.#quote, j);
          // A quote as the last character may be the first half of an escaped pair.
          if (k === -1 || (k + 1 === n && !final)) {
            if (!final) return -1;
            return this.#malformed(s, pos, open, this.#unclosed(s, pos, open, line, fields.length));
          }
          inner += countChar(s, this.#nlChar, j, k);
          if (k + 1 < n && s.charCodeAt(k + 1) === qc) {
            val += s.slice(j, k + 1);
            j = k + 2;
            continue;
          }
          val += s.slice(j, k);
          i = k + 1;
          break;
        }
        if (!this.#lenient && i < n && s.charCodeAt(i) !== dc && s.charCodeAt(i) !== nl) {
          // CR is a line end only before LF (or at the very end): wait to see what follows it.
          if (s.charCodeAt(i) === CR && nl === LF && i + 1 === n && !final) return -1;
          if (!(s.charCodeAt(i) === CR && nl === LF && (i + 1 === n || s.charCodeAt(i + 1) === LF))) {
            const lineEnd = s.indexOf(this.#nlChar, open);
            // Closed on a later line, the field is set aside as one never closed is: a chunk cut
            // after the opening line (CsvCutter) cannot tell them apart, and must say the same.
            if (lineEnd !== -1 && lineEnd < i)
              return this.#malformed(s, pos, open, this.#unclosed(s, pos, open, line, fields.length));
            const shown = s.slice(Math.max(open, i - 20), Math.min(lineEnd < 0 ? n : lineEnd, i + 10));
            return this.#malformed(
              s,
              pos,
              open,
              `field ${fields.length + 1} has text after its closing quote (\`${shown}\`); RFC 4180 ` +
                'allows only a delimiter or a line end there. Double a quote inside a quoted field (""), or set ' +
                'lenientQuotes: true to read the text after the quote as part of the field.',
            );
          }
        }
        quoted ??= [];
        quoted[fields.length] = true;
      }
      // The unquoted field, or whatever follows a closing quote up to the next delimiter.
      let j = i;
      let end = -1;
      let next = -1;
      for (; j < n; j++) {
        const c = s.charCodeAt(j);
        if (c === dc) break;
        if (c === nl) {
          end = j;
          next = j + 1;
          break;
        }
        if (c === CR && nl === LF) {
          if (j + 1 === n && !final) return -1;
          if (j + 1 === n || s.charCodeAt(j + 1) === LF) {
            end = j;
            next = Math.min(j + 2, n);
            break;
          }
        }
      }
      if (j === n) {
        if (!final) return -1;
        end = n;
        next = n;
      }
      fields.push(j > i ? val + s.slice(i, j) : val);
      if (end < 0) {
        i = j + 1;
        continue;
      }
      this.#fields = fields;
      this.#quoted = quoted;
      this.#inner = inner;
      this.#recEnd = end;
      return next;
    }
  }

  /**
   * A malformed quoted field opened at `open` makes its record malformed: set aside from `pos` to
   * the end of the line the field opened on, and read again from the next line. Resynchronising
   * there keeps one stray quote from swallowing every line up to the next quote (or the end of
   * the file); CsvCutter cuts at the same place. Returns the index after that line, or -1 when
   * the text does not reach its end yet.
   */
  #unclosed(s: string, pos: number, open: number, line: number, field: number): string {
    const at = line + countChar(s, this.#nlChar, pos, open);
    return (
      `the quote opening field ${field + 1} at line ${at} is not closed on that line (it is never closed, or ` +
      `closed lines later and followed by other text): line ${at} is set aside and reading goes on with the ` +
      'next line. A quote inside a field must be doubled ("") and the field quoted.'
    );
  }

  #malformed(s: string, pos: number, open: number, reason: string): number {
    const n = s.length;
    const eol = s.indexOf(this.#nlChar, open);
    if (eol === -1 && !this.#eof) return -1;
    const end = eol === -1 ? n : eol;
    this.#fields = null;
    this.#reason = reason;
    this.#recEnd = this.#nl === LF && end > pos && s.charCodeAt(end - 1) === CR ? end - 1 : end;
    this.#inner = countChar(s, this.#nlChar, pos, end);
    return eol === -1 ? n : eol + 1;
  }
}

function countChar(s: string, ch: string, from: number, to: number): number {
  let count = 0;
  for (let i = s.indexOf(ch, from); i !== -1 && i < to; i = s.indexOf(ch, i + 1)) count++;
  return count;
}
