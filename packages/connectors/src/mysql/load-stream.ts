import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import type { MyConnection } from './conn.ts';

/** What the server reports for a `LOAD DATA` statement. */
export interface LoadResult {
  affectedRows: number;
  warningStatus: number;
}

/**
 * One `LOAD DATA LOCAL INFILE` statement whose file is fed as rows come: it stays open across
 * batches until `end`, so the server parses one statement per checkpoint instead of one per batch,
 * and encoding the next batch overlaps the server's work on this one.
 *
 * While it is open the session runs nothing else (mysql2 queues every other statement behind it,
 * and this one waits for `end`): end it before any other query on the connection.
 */
export class LoadStream {
  readonly #file: PassThrough;
  readonly #done: Promise<LoadResult>;
  /** Set once the statement failed: writes then stop waiting for room that will never come. */
  #failed = false;
  /** Rows (lines) written so far: what the server must report at the end. */
  rows = 0;

  /**
   * Starts `statement` (a LOAD DATA LOCAL INFILE); `bufferBytes` bounds what waits in Node for the
   * socket, so a slow server holds the flow back instead of filling memory.
   */
  constructor(c: MyConnection, statement: string, bufferBytes: number) {
    this.#file = new PassThrough({ highWaterMark: bufferBytes });
    // A cancel's error is the statement's to report (the client reads it from the stream).
    this.#file.on('error', () => undefined);
    this.#done = c.query<LoadResult>(statement, undefined, {
      // Cancelled before the server asked for the file: an empty one ends the statement at once.
      infileStreamFactory: () => (this.#file.destroyed ? Readable.from([]) : this.#file),
    });
    // Handled here so a failure before `end` is never an unhandled rejection; `end` reports it.
    this.#done.catch(() => {
      this.#failed = true;
    });
  }

  /**
   * Appends whole lines (`rows` of them); `data` is the stream's from now on. Resolves when there is
   * room for more; rejects with the statement's error when it failed meanwhile.
   */
  async write(data: Uint8Array, rows: number): Promise<void> {
    if (this.#failed) await this.#done;
    this.rows += rows;
    if (this.#file.write(data)) return;
    await Promise.race([once(this.#file, 'drain'), this.#done]);
  }

  /** Ends the file and waits for the statement's result. */
  async end(): Promise<LoadResult> {
    this.#file.end();
    return await this.#done;
  }

  /**
   * Ends the file with an error (the client then sends the server an end of file and the statement
   * fails), so that the session can take the ROLLBACK queued behind it.
   */
  cancel(err: Error): void {
    this.#file.destroy(err);
  }
}
