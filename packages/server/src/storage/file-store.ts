import { createReadStream } from 'node:fs';
import { appendFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
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

export class FileStore implements BlobStore {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  #path(key: string): string {
    return join(this.root, cleanKey(key));
  }

  async append(key: string, text: string): Promise<void> {
    const p = this.#path(key);
    await inDirectory(p, () => appendFile(p, text));
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
    await rm(this.#path(prefix), { recursive: true, force: true });
  }

  // Every append is on disk when it returns: nothing waits.
  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}

/**
 * Runs a write, making the file's directory first only when it is missing: a job's log takes a
 * line at a time, and a recursive mkdir before each one cost more than the append.
 */
async function inDirectory(path: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dirname(path), { recursive: true });
    await write();
  }
}
