import type { FileHandle } from 'node:fs/promises';
import type { ChunkSplit, ChunkStart } from '../../connector.ts';

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
  readonly #file: FileHandle;
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
  constructor(file: FileHandle, split: ChunkSplit, chunkBytes: number, alloc: (bytes: number) => Uint8Array) {
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
