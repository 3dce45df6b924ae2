import { createReadStream } from 'node:fs';
import { appendFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { ErrorCode, SluiceError } from '@sluice/core';

/**
 * Step logs and artifacts live outside the database, behind these few methods; the database keeps
 * their index. Keys are relative paths (`jobs/<id>/<step>.log`); an S3-compatible store can
 * implement the same interface.
 */
export interface BlobStore {
  append(key: string, text: string): Promise<void>;
  /** Writes the whole value; a stream (a file being copied in) is written as it comes. */
  write(key: string, data: string | Uint8Array | AsyncIterable<Uint8Array>): Promise<void>;
  read(key: string, start?: number): Readable;
  size(key: string): Promise<number | undefined>;
  remove(prefix: string): Promise<void>;
}

export class FileStore implements BlobStore {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  #path(key: string): string {
    const clean = normalize(key);
    if (isAbsolute(clean) || clean === '..' || clean.startsWith(`..${sep}`)) {
      throw new SluiceError(ErrorCode.VALIDATION, `storage key "${key}" leaves the store`);
    }
    return join(this.root, clean);
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
