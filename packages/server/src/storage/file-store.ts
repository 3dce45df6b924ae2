import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { ErrorCode, SluiceError } from '@sluice/core';

/**
 * Step logs and artifacts live outside the database, behind these few methods; the database keeps
 * their index (the artifacts table). Keys are relative paths with `/` (`jobs/<id>/log.ndjson`);
 * one that would leave the store (absolute, or through `..`) is refused with a VALIDATION error,
 * thrown by the method called. Two implementations: FileStore (a directory, the default
 * `<dataDir>/files`) and S3Store (`--artifacts s3://bucket/prefix`).
 *
 * A key is either appended to (a job's log, a line at a time, by the worker running the job) or
 * written whole (reports, quarantine files, saved output), not both. Every other process — an API
 * server on another machine — reads through its own store over the same files or bucket.
 */
export interface BlobStore {
  /**
   * Adds text at the end of the key's value, making it when missing. It may be buffered: other
   * processes see it after `flush`, or within about a second; this store's own `read` and `size`
   * see it at once. A failure means the text may not have been kept (the store is unreachable).
   */
  append(key: string, text: string): Promise<void>;
  /** Writes the whole value, replacing any; a stream (a file being copied in) is written as it comes. */
  write(key: string, data: string | Uint8Array | AsyncIterable<Uint8Array>): Promise<void>;
  /**
   * The value from byte `start` on, as a stream of bytes. A key with no value fails the stream
   * (not the call) with a NOT_FOUND error: check `size` first to tell "none yet" apart.
   */
  read(key: string, start?: number): Readable;
  /** The value's length in bytes, or undefined when the key has none. */
  size(key: string): Promise<number | undefined>;
  /** Removes the key and every key under it as a folder (`jobs/<id>/`); nothing there is not an error. */
  remove(prefix: string): Promise<void>;
  /**
   * Makes appends visible to every process: the key's, or all of them. Called when an artifact is
   * indexed (so the end of a job's log is stored when the job ends) and by `close`.
   */
  flush(key?: string): Promise<void>;
  /** Flushes and lets go of connections; called once, when the platform closes. */
  close(): Promise<void>;
}

/**
 * The key as stored (`a/./b/` → `a/b`), or a VALIDATION error when it is empty or would leave the
 * store: keys reach here from the database and from names built from request parameters.
 */
export function cleanKey(key: string): string {
  const clean = posix.normalize(key.replaceAll('\\', '/')).replace(/\/+$/, '');
  if (clean === '' || clean === '.') {
    throw new SluiceError(
      ErrorCode.VALIDATION,
      `storage key "${key}" is empty: name a file or folder in the store`,
    );
  }
  if (posix.isAbsolute(clean) || clean === '..' || clean.startsWith('../')) {
    throw new SluiceError(ErrorCode.VALIDATION, `storage key "${key}" leaves the store`);
  }
  return clean;
}

/** A key being appended to: its file kept open, and its writes in order. */
interface Appending {
  handle: Promise<FileHandle>;
  /** The last write queued: the next one waits for it. */
  last: Promise<void>;
  idle?: NodeJS.Timeout;
}

// A key not appended to for this long has its file closed (its job ended without a flush).
const APPEND_IDLE_MS = 2000;

export class FileStore implements BlobStore {
  readonly root: string;
  // A job's log takes a line at a time; opening and closing the file for each line cost more than
  // the write (5 lines a job: ~2.5 ms of a no-op job's CPU, measured). The file stays open while
  // lines come; each line is still written to it at once (O_APPEND), so readers see it as before.
  readonly #appending = new Map<string, Appending>();

  constructor(root: string) {
    this.root = root;
  }

  #path(key: string): string {
    return join(this.root, cleanKey(key));
  }

  async append(key: string, text: string): Promise<void> {
    const path = this.#path(key);
    let a = this.#appending.get(path);
    if (!a) {
      const handle = inDirectory(path, () => open(path, 'a'));
      a = { handle, last: Promise.resolve() };
      this.#appending.set(path, a);
      // Not kept when it could not be opened: the next append tries again.
      handle.catch(() => {
        if (this.#appending.get(path) === a) this.#appending.delete(path);
      });
    }
    const entry = a;
    const write = entry.last.then(async () => {
      await (await entry.handle).appendFile(text);
    });
    entry.last = write.catch(() => undefined);
    clearTimeout(entry.idle);
    entry.idle = setTimeout(() => void this.#closeAppends((p) => p === path), APPEND_IDLE_MS);
    entry.idle.unref();
    return write;
  }

  async write(key: string, data: string | Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    const p = this.#path(key);
    await inDirectory(p, () => writeFile(p, data));
  }

  read(key: string, start = 0): Readable {
    return createReadStream(this.#path(key), { start });
  }

  async size(key: string): Promise<number | undefined> {
    return stat(this.#path(key)).then(
      (s) => s.size,
      () => undefined,
    );
  }

  async remove(prefix: string): Promise<void> {
    const path = this.#path(prefix);
    // A file removed while open would take the next lines into nothing.
    await this.#closeAppends((p) => p === path || p.startsWith(`${path}/`));
    await rm(path, { recursive: true, force: true });
  }

  // Every append is on disk when it returns: nothing waits. The key's file is let go.
  async flush(key?: string): Promise<void> {
    const path = key === undefined ? undefined : this.#path(key);
    await this.#closeAppends((p) => path === undefined || p === path);
  }

  async close(): Promise<void> {
    await this.flush();
  }

  /** Closes the files of the keys being appended to whose paths `which` picks, once their writes are done. */
  async #closeAppends(which: (path: string) => boolean): Promise<void> {
    const closing = [...this.#appending].filter(([p]) => which(p));
    for (const [p] of closing) this.#appending.delete(p);
    await Promise.all(
      closing.map(async ([, a]) => {
        clearTimeout(a.idle);
        await a.last;
        await (await a.handle.catch(() => undefined))?.close().catch(() => undefined);
      }),
    );
  }
}

/**
 * Runs a write (or an open for appending), making the file's directory first only when it is
 * missing: a recursive mkdir before each one cost more than the write.
 */
async function inDirectory<T>(path: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dirname(path), { recursive: true });
    return write();
  }
}
