import type { ChunkSplit, ChunkStart } from '../../connector.ts';

/**
 * What ChunkReader reads from: a local file's handle, or `streamed` bytes. Reads come in order,
 * each at the position where the one before ended; 0 bytes read means the end of the input.
 */
export interface PieceFile {
  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/**
 * A stream of bytes (a ChunkSplit's `bytes`) as a PieceFile. The stream's pieces are copied into
 * the reader's buffer as they come, whatever their size; closing ends the stream's iteration,
 * which lets its producer release its connections.
 */
export function streamed(source: AsyncIterable<Uint8Array>): PieceFile {
  const it = source[Symbol.asyncIterator]();
  let piece: Uint8Array = new Uint8Array(0);
  let ended = false;
  return {
    async read(buf, offset, length) {
      while (piece.length === 0 && !ended) {
        const next = await it.next();
        if (next.done) ended = true;
        else piece = next.value;
      }
      const n = Math.min(length, piece.length);
      buf.set(piece.subarray(0, n), offset);
      piece = piece.subarray(n);
      return { bytesRead: n };
    },
    async close() {
      if (!ended) {
        ended = true;
        await it.return?.();
      }
    },
  };
}

export interface Chunk {
  /** The chunk's bytes: a view at the start of its own ArrayBuffer, which can be transferred. */
  data: Uint8Array;
  start: ChunkStart;
  end: ChunkStart;
}

/**
 * Reads a file from `split.start` in pieces of `chunkBytes` and cuts them at the last record
 * boundary the source's cutter finds, so every chunk holds whole records. Bytes after the cut
 * (part of a record) are copied to the front of the next piece; a record longer than a piece
 * makes the chunk grow until it ends. The cutter scans each byte once.
 */
export class ChunkReader {
  readonly #file: PieceFile;
  readonly #split: ChunkSplit;
  #pending: Uint8Array = new Uint8Array(0);
  #scanned = 0;
  #boundary = -1;
  #readAt: number;
  /** Set once a read came back empty. */
  #eof = false;
  #next: ChunkStart;
  /** The read of the next piece of the file, into #aheadBuf, started before it is needed. */
  #ahead: Promise<number> | undefined;
  readonly #aheadBuf: Uint8Array;

  readonly #alloc: (bytes: number) => Uint8Array;

  /** `alloc`: a buffer of that many bytes at the start of an ArrayBuffer of its own (see Buffers). */
  constructor(file: PieceFile, split: ChunkSplit, chunkBytes: number, alloc: (bytes: number) => Uint8Array) {
    this.#file = file;
    this.#split = split;
    this.#alloc = alloc;
    this.#readAt = split.start.offset;
    this.#next = split.start;
    this.#aheadBuf = new Uint8Array(chunkBytes);
  }

  /** The next chunk, or undefined at the end of the file. */
  async next(): Promise<Chunk | undefined> {
    for (;;) {
      if (this.#boundary > 0) return this.#cut(this.#boundary);
      if (this.#eof && this.#ahead === undefined)
        return this.#pending.length > 0 ? this.#cut(this.#pending.length) : undefined;
      await this.#read();
    }
  }

  async #read(): Promise<void> {
    const kept = this.#pending.length;
    const piece = await (this.#ahead ?? this.#readPiece());
    const buf = this.#alloc(kept + piece);
    buf.set(this.#pending);
    buf.set(this.#aheadBuf.subarray(0, piece), kept);
    // The next piece is read while this one is cut and worked on.
    this.#ahead = this.#eof ? undefined : this.#readPiece();
    this.#ahead?.catch(() => undefined);
    this.#pending = buf;
    const { boundary, scanned } = this.#split.cut(this.#pending, this.#scanned);
    this.#scanned = scanned;
    this.#boundary = boundary;
  }

  /** Reads up to `chunkBytes` into the read-ahead buffer; a short read is not the end of the file. */
  async #readPiece(): Promise<number> {
    const buf = this.#aheadBuf;
    let filled = 0;
    while (filled < buf.length) {
      const { bytesRead } = await this.#file.read(buf, filled, buf.length - filled, this.#readAt);
      if (bytesRead === 0) {
        this.#eof = true;
        break;
      }
      filled += bytesRead;
      this.#readAt += bytesRead;
    }
    return filled;
  }

  #cut(at: number): Chunk {
    const all = this.#pending;
    // The rest is copied out, so the chunk's buffer can be transferred with nothing else in it.
    this.#pending = all.slice(at);
    this.#scanned = Math.max(0, this.#scanned - at);
    this.#boundary = -1;
    const data = all.subarray(0, at);
    const start = this.#next;
    const end = { offset: start.offset + at, line: start.line + this.#split.lines(data) };
    this.#next = end;
    return { data, start, end };
  }
}

/**
 * ArrayBuffers of one size, used again and again for chunks and their output. Measured: with a
 * fresh buffer per chunk, garbage ArrayBuffers piled up in every thread until V8's external
 * memory limit (64 MB each) set off a collection, and peak RSS rose by ~100 MB.
 */
export class Buffers {
  readonly size: number;
  readonly #free: ArrayBuffer[] = [];
  readonly #keep: number;

  /** Keeps up to `keep` spare buffers of `size` bytes. */
  constructor(size: number, keep: number) {
    this.size = size;
    this.#keep = keep;
  }

  /** `bytes` bytes at the start of a buffer of their own (a spare one when they fit). */
  get(bytes: number): Uint8Array {
    if (bytes > this.size) return new Uint8Array(bytes);
    return new Uint8Array(this.#free.pop() ?? new ArrayBuffer(this.size), 0, bytes);
  }

  put(buffer: ArrayBuffer): void {
    // A buffer transferred away meanwhile has no bytes left, and is not taken.
    if (buffer.byteLength === this.size && this.#free.length < this.#keep) this.#free.push(buffer);
  }
}
