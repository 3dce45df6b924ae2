import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import type { CopyStreamQuery, from } from 'pg-copy-streams';

let copyFrom: typeof from | undefined;

/** Loads pg-copy-streams, on first use as `pg` is (see loadPg); called before the first CopyIn. */
export async function loadCopyIn(): Promise<void> {
  copyFrom ??= (await import('pg-copy-streams')).from;
}

/**
 * One `COPY ... FROM STDIN` kept open across many writes. Errors the server sends between
 * writes are held and thrown by the next call, never left unhandled.
 */
export class CopyIn {
  readonly #stream: CopyStreamQuery;
  #error: Error | undefined;

  /** `queueBytes`: COPY data Node may hold ahead of the server before `write` waits. */
  constructor(client: pg.Client, sql: string, queueBytes: number) {
    if (copyFrom === undefined) throw new Error('CopyIn: loadCopyIn() was not awaited first');
    this.#stream = copyFrom(sql, { highWaterMark: queueBytes });
    this.#stream.on('error', (err) => {
      this.#error ??= err;
    });
    oneWritePerMessage(this.#stream);
    client.query(this.#stream);
  }

  /**
   * Queues `data` (bytes must not change afterwards); waits for the queue to drain only when it is
   * full, so encoding overlaps the server.
   */
  async write(data: string | Uint8Array, signal: AbortSignal): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#stream.write(data)) return;
    try {
      // once() rejects on 'error' too, so a failing COPY does not leave us waiting for a drain.
      if (!this.#stream.destroyed) await once(this.#stream, 'drain', { signal });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw this.#error ?? err;
    }
    if (this.#error) throw this.#error;
  }

  /** Ends the COPY; resolves with the number of rows the server acknowledged. */
  async end(): Promise<number> {
    this.#stream.end();
    try {
      await finished(this.#stream);
    } catch (err) {
      throw this.#error ?? err;
    }
    return this.#stream.rowCount;
  }

  /** Sends CopyFail so the server drops the COPY and the session stays usable. */
  async cancel(reason: Error, waitMs: number): Promise<void> {
    if (this.#stream.destroyed) return;
    this.#stream.destroy(reason);
    await within(
      waitMs,
      finished(this.#stream).catch(() => undefined),
    );
  }
}

/** The parts of a CopyStreamQuery that send one chunk of COPY data (pg-copy-streams 7). */
interface ChunkSender {
  connection: { stream: { cork(): void; uncork(): void; write(b: Uint8Array): boolean } } | null;
  flushChunk(chunk: Uint8Array): boolean;
}

/**
 * pg-copy-streams writes each CopyData message as two socket writes, its 5-byte header and then
 * the chunk: two system calls, and a server woken for 5 bytes. Corked, the socket sends both in
 * one writev.
 */
function oneWritePerMessage(stream: CopyStreamQuery): void {
  const s = stream as unknown as ChunkSender;
  if (typeof s.flushChunk !== 'function') return;
  s.flushChunk = (chunk) => {
    const socket = s.connection!.stream;
    const head = Buffer.allocUnsafe(5);
    head[0] = 0x64; // 'd': CopyData
    head.writeUInt32BE(chunk.length + 4, 1);
    socket.cork();
    socket.write(head);
    const ok = socket.write(chunk);
    socket.uncork();
    return ok;
  };
}

/** Waits for `p` at most `ms`: cleanup after a failure must not hang on a dead connection. */
export async function within(ms: number, p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
