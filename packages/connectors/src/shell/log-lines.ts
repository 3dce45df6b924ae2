/**
 * Splits a byte stream (a command's stdout, say) into lines for the log, holding no more than
 * the head of the current line: a line longer than `maxChars` is logged as its first `maxChars`
 * characters and a marker, `… [truncated 49,998,000 bytes]`. Joining chunks until a newline came
 * (what this replaced) took quadratic time and the whole line's memory: a 200 MB line kept a step
 * at full CPU for over 75 s.
 */
export class LogLines {
  readonly #maxChars: number;
  /** Bytes kept of a line: 3 per UTF-16 unit at most, and room for a character cut at the end. */
  readonly #maxBytes: number;
  readonly #onLine: (line: string) => void;
  #head: Buffer[] = [];
  #headBytes = 0;
  /** Bytes of the current line past its head. */
  #dropped = 0;
  #last = -1;

  constructor(maxChars: number, onLine: (line: string) => void) {
    this.#maxChars = maxChars;
    this.#maxBytes = 3 * maxChars + 4;
    this.#onLine = onLine;
  }

  push(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
      this.#add(chunk, from, nl);
      this.#emit();
      from = nl + 1;
    }
    if (from < chunk.length) this.#add(chunk, from, chunk.length);
  }

  /** The stream ended: a last line without its newline is logged too. */
  end(): void {
    if (this.#headBytes > 0 || this.#dropped > 0) this.#emit();
  }

  #add(chunk: Buffer, from: number, to: number): void {
    if (to === from) return;
    const take = Math.min(this.#maxBytes - this.#headBytes, to - from);
    // A copy: a view would keep the whole chunk alive while the line goes on.
    if (take > 0) this.#head.push(Buffer.from(chunk.subarray(from, from + take)));
    this.#headBytes += take;
    this.#dropped += to - from - take;
    this.#last = chunk[to - 1]!;
  }

  #emit(): void {
    // A CRLF line end is not part of the line.
    if (this.#last === 13) {
      if (this.#dropped > 0) this.#dropped--;
      else {
        const tail = this.#head.at(-1)!;
        this.#head[this.#head.length - 1] = tail.subarray(0, tail.length - 1);
        this.#headBytes--;
      }
    }
    const bytes = this.#head.length === 1 ? this.#head[0]! : Buffer.concat(this.#head);
    let line = bytes.toString('utf8');
    let cut = this.#dropped;
    if (line.length > this.#maxChars) {
      let end = this.#maxChars;
      // Never split a surrogate pair.
      const c = line.charCodeAt(end - 1);
      if (c >= 0xd800 && c <= 0xdbff) end--;
      line = line.slice(0, end);
      cut = this.#headBytes + this.#dropped - Buffer.byteLength(line);
    }
    this.#head = [];
    this.#headBytes = 0;
    this.#dropped = 0;
    this.#last = -1;
    this.#onLine(cut > 0 ? `${line}… [truncated ${cut.toLocaleString('en-US')} bytes]` : line);
  }
}
