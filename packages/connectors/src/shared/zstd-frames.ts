type Step = 'magic' | 'size' | 'fhd' | 'block';

/**
 * Follows the frame structure of a zstd stream (RFC 8878: frame headers, block headers, checksums,
 * skippable frames) without decoding it, to tell a stream that ends between frames from one cut
 * short. node:zlib's zstd decoder (Node 22.15 to 24) ends a truncated frame without an error
 * (nodejs/node#64592), which would read a cut-short file as a shorter one.
 */
export class ZstdFrames {
  /** Bytes to collect before the next step (`#head` then holds them), or 0 while skipping. */
  #need = 4;
  #head: number[] = [];
  #skip = 0;
  #step: Step = 'magic';
  #checksum = false;
  /** Set when the stream does not start like a zstd frame. */
  bad: string | undefined;

  /** Whether the bytes so far end exactly after a complete frame (or hold none). */
  get complete(): boolean {
    return this.#step === 'magic' && this.#head.length === 0 && this.#skip === 0;
  }

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && this.bad === undefined) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      this.#head.push(chunk[i++]!);
      if (this.#head.length === this.#need) this.#next();
    }
  }

  /** Reads the header just collected and says what comes next: bytes to skip, then a step. */
  #next(): void {
    const h = this.#head;
    this.#head = [];
    const le32 = () => (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
    switch (this.#step) {
      case 'magic': {
        const magic = le32();
        if (magic === 0xfd2fb528) this.#expect('fhd', 1);
        else if (magic >>> 4 === 0x184d2a5) this.#expect('size', 4);
        else {
          const bytes = h.map((b) => b.toString(16).padStart(2, '0')).join(' ');
          this.bad = `no zstd frame starts here (magic bytes ${bytes})`;
        }
        break;
      }
      case 'size':
        this.#skip = le32();
        this.#expect('magic', 4);
        break;
      case 'fhd': {
        const fhd = h[0]!;
        const single = (fhd >> 5) & 1;
        this.#checksum = ((fhd >> 2) & 1) === 1;
        // Window descriptor (absent in a single segment), dictionary id, frame content size.
        this.#skip = (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + [single, 2, 4, 8][fhd >> 6]!;
        this.#expect('block', 3);
        break;
      }
      case 'block': {
        const b = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        // An RLE block's content is one byte, repeated; the others store their size.
        this.#skip = ((b >> 1) & 3) === 1 ? 1 : b >>> 3;
        if ((b & 1) === 0) this.#expect('block', 3);
        else {
          this.#skip += this.#checksum ? 4 : 0;
          this.#expect('magic', 4);
        }
        break;
      }
    }
  }

  #expect(step: Step, need: number): void {
    this.#step = step;
    this.#need = need;
  }
}
