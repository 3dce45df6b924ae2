import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { openS3Bucket, type S3Bucket, type S3Object, type S3Options } from '@sluice/connectors';
import { ErrorCode, SluiceError } from '@sluice/core';
import { type BlobStore, cleanKey } from './file-store.ts';
import { liveSegments, parseSegment, SEGMENTS, type Segment, segmentName } from './s3-segments.ts';

export interface S3StoreOptions {
  /** The client's settings; the SDK's defaults and AWS_* environment variables when absent. */
  s3?: S3Options;
  /** Appends are uploaded this long after the first one not yet uploaded. @defaultValue 1000 */
  flushMs?: number;
  /** …or as soon as this many bytes wait for one key. @defaultValue 65536 */
  flushBytes?: number;
  /** Told when a timed upload fails (its text is kept and tried again a flushMs later). */
  onFlushError?: (err: unknown) => void;
}

const S3_STORE_DEFAULTS = { flushMs: 1000, flushBytes: 64 * 1024 } as const satisfies Required<
  Omit<S3StoreOptions, 's3' | 'onFlushError'>
>;

/** Segments a reader fetches ahead of the one it hands on: a log of many small segments reads at list speed. */
const READ_AHEAD = 8;
/**
 * A key's explicit flush (its job's end) compacts its segments into one object from this many on:
 * each is a request for every reader of the log, and a long job leaves thousands.
 */
const COMPACT_AT = 16;

/** Appends to one key this store has not uploaded yet, and the number of its next segment. */
interface Pending {
  chunks: string[];
  bytes: number;
  /** Unknown until the first upload lists the segments other processes may have left. */
  next?: number;
  /** Uploads of the key, one after another: segments must be numbered in the order of the text. */
  chain: Promise<void>;
}

/**
 * The blob store on S3 or an S3-compatible store (`sluice serve --artifacts s3://bucket/prefix`).
 *
 * S3 cannot append, so appended text is buffered per key and uploaded as numbered segment objects
 * `<key>.seg/<number>-<writer>`: a second after the first waiting append, at 64 KiB, and on
 * `flush`. A key's value is its whole object (from `write`), if any, followed by its segments in
 * number order. The writer id in a segment's name keeps two processes that append to the same key
 * (a job handed from one worker to another) from overwriting each other's segment. When the writer
 * flushes one key (its job's end), 16 segments or more are compacted into one (s3-segments.ts).
 * A process killed without close loses the text it had not uploaded yet: at most about a second.
 */
export class S3Store implements BlobStore {
  readonly url: string;
  readonly #bucket: S3Bucket;
  readonly #prefix: string;
  readonly #o: Required<Omit<S3StoreOptions, 's3' | 'onFlushError'>>;
  readonly #onFlushError: (err: unknown) => void;
  readonly #writer = randomBytes(4).toString('hex');
  readonly #pending = new Map<string, Pending>();
  #timer: NodeJS.Timeout | undefined;

  private constructor(url: string, bucket: S3Bucket, prefix: string, o: S3StoreOptions) {
    this.url = url;
    this.#bucket = bucket;
    this.#prefix = prefix;
    this.#o = {
      flushMs: o.flushMs ?? S3_STORE_DEFAULTS.flushMs,
      flushBytes: o.flushBytes ?? S3_STORE_DEFAULTS.flushBytes,
    };
    this.#onFlushError = o.onFlushError ?? (() => undefined);
  }

  /**
   * Opens the store at `s3://bucket/prefix` and proves it usable (HeadBucket): a missing bucket,
   * refused credentials or an unreachable endpoint fail here, at start, with what to check.
   */
  static async open(url: string, o: S3StoreOptions = {}): Promise<S3Store> {
    const where = `artifacts store ${url}`;
    const { bucket, prefix } = await openS3Bucket(url, o.s3, where);
    try {
      await bucket.check();
    } catch (err) {
      bucket.close();
      throw err;
    }
    return new S3Store(url, bucket, prefix, o);
  }

  #key(key: string): string {
    const clean = cleanKey(key);
    if (clean.split('/').some((part) => part.endsWith('.seg'))) {
      throw new SluiceError(
        ErrorCode.VALIDATION,
        `storage key "${key}": a name ending in .seg is kept for appended segments`,
      );
    }
    return this.#prefix ? `${this.#prefix}/${clean}` : clean;
  }

  async append(key: string, text: string): Promise<void> {
    const k = this.#key(key);
    let p = this.#pending.get(k);
    if (!p) {
      p = { chunks: [], bytes: 0, chain: Promise.resolve() };
      this.#pending.set(k, p);
    }
    p.chunks.push(text);
    p.bytes += Buffer.byteLength(text);
    if (p.bytes >= this.#o.flushBytes) await this.#flushKey(k);
    else this.#arm();
  }

  async write(key: string, data: string | Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    const k = this.#key(key);
    await this.#drop(k);
    await this.#bucket.put(k, data);
    // The value is replaced whole: segments appended before would otherwise follow it.
    await this.#bucket.delete((await this.#segments(k, true)).map((s) => s.key));
  }

  read(key: string, start = 0): Readable {
    const k = this.#key(key);
    const store = this;
    return Readable.from(
      (async function* () {
        let done = 0;
        for (let attempt = 1; ; attempt++) {
          const parts = await store.#parts(k);
          if (parts === undefined) {
            throw new SluiceError(ErrorCode.NOT_FOUND, `no stored file "${key}" in ${store.url}`);
          }
          try {
            for await (const chunk of store.#stream(parts, start + done)) {
              done += chunk.length;
              yield chunk;
            }
            return;
          } catch (err) {
            // A compaction replaced the segments listed: the same bytes, listed again.
            if (!(err instanceof Vanished) || attempt === 3) throw err;
          }
        }
      })(),
      { objectMode: false },
    );
  }

  /** The bytes of `parts` from `start` on, fetching small segments ahead. */
  async *#stream(parts: S3Object[], start: number): AsyncGenerator<Uint8Array> {
    // Skips the parts before `start`; the first one read may begin inside.
    let skip = start;
    const wanted: { key: string; from: number; small: boolean }[] = [];
    for (const part of parts) {
      if (skip >= part.size) skip -= part.size;
      else {
        const small = (part as Partial<Segment>).compacted === false;
        wanted.push({ key: part.key, from: skip, small });
        skip = 0;
      }
    }
    const ahead: Promise<AsyncIterable<Uint8Array> | Uint8Array[]>[] = [];
    let next = 0;
    while (next < wanted.length || ahead.length > 0) {
      while (ahead.length < READ_AHEAD && next < wanted.length) {
        const w = wanted[next++]!;
        // The whole object and compactions may be large: streamed, not fetched ahead.
        const got = w.small ? this.#fetch(w.key, w.from) : this.#open(w.key, w.from);
        got.catch(() => undefined); // awaited in turn below; not an unhandled rejection meanwhile
        ahead.push(got);
        if (!w.small) break;
      }
      yield* await ahead.shift()!;
    }
  }

  async size(key: string): Promise<number | undefined> {
    const parts = await this.#parts(this.#key(key));
    return parts?.reduce((sum, p) => sum + p.size, 0);
  }

  async remove(prefix: string): Promise<void> {
    const k = this.#key(prefix);
    for (const pending of [...this.#pending.keys()]) {
      if (within(pending, k)) await this.#drop(pending);
    }
    const keys: string[] = [];
    for await (const o of this.#bucket.list(k)) if (within(o.key, k)) keys.push(o.key);
    await this.#bucket.delete(keys);
  }

  async flush(key?: string): Promise<void> {
    if (key !== undefined) {
      const k = this.#key(key);
      if (!this.#pending.has(k)) return;
      await this.#flushKey(k);
      // In the key's chain: no upload of this process's numbers the compaction while it runs.
      const p = this.#pending.get(k);
      if (p) {
        const compact = p.chain.then(() => this.#compact(k));
        p.chain = compact.catch(() => undefined);
        // Only an optimisation: the segments it would replace still make the value.
        await compact.catch(this.#onFlushError);
      }
      // Its writer is done with it (a job's end): the next append, if any, lists the segments again.
      if (p && p.chunks.length === 0) this.#pending.delete(k);
      return;
    }
    const results = await Promise.allSettled([...this.#pending.keys()].map((k) => this.#flushKey(k)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      await this.flush();
    } finally {
      this.#bucket.close();
    }
  }

  /** The objects that make the key's value, in order, with their sizes; undefined when there are none. */
  async #parts(k: string): Promise<S3Object[] | undefined> {
    // Read your own writes: what this process appended is uploaded before it is looked for.
    if (this.#pending.has(k)) await this.#flushKey(k);
    const [whole, segments] = await Promise.all([this.#bucket.size(k), this.#segments(k)]);
    if (whole === undefined && segments.length === 0) return undefined;
    return whole === undefined ? segments : [{ key: k, size: whole }, ...segments];
  }

  /** The key's segments that make its value, in order (see liveSegments); `all` adds those a compaction covers. */
  async #segments(k: string, all = false): Promise<Segment[]> {
    const found: Segment[] = [];
    for await (const o of this.#bucket.list(`${k}${SEGMENTS}`)) {
      const seg = parseSegment(o);
      if (seg) found.push(seg);
    }
    return all ? found : liveSegments(found);
  }

  /** Replaces the key's segments by one object holding their bytes, then deletes them. */
  async #compact(k: string): Promise<void> {
    const segs = await this.#segments(k);
    if (segs.length < COMPACT_AT) return;
    const first = segs[0]!.first;
    const last = segs.at(-1)!.last;
    await this.#bucket.put(segmentName(k, last, this.#writer, first), this.#stream(segs, 0));
    await this.#bucket.delete(segs.map((s) => s.key));
  }

  async #open(key: string, from: number): Promise<AsyncIterable<Uint8Array>> {
    const body = await this.#bucket.get(key, from);
    if (body === undefined) throw new Vanished(key, this.url);
    return body;
  }

  /** A small object whole, so that several can be fetched at once. */
  async #fetch(key: string, from: number): Promise<Uint8Array[]> {
    const parts: Uint8Array[] = [];
    for await (const c of await this.#open(key, from)) parts.push(c);
    return [Buffer.concat(parts)];
  }

  /** Uploads what waits for the key as its next segment, after any upload of it in progress. */
  #flushKey(k: string): Promise<void> {
    const p = this.#pending.get(k);
    if (!p) return Promise.resolve();
    const run = p.chain.then(() => this.#upload(k, p));
    p.chain = run.catch(() => undefined);
    return run;
  }

  async #upload(k: string, p: Pending): Promise<void> {
    if (p.chunks.length === 0) return;
    const text = p.chunks.join('');
    p.chunks = [];
    p.bytes = 0;
    try {
      p.next ??= (await this.#segments(k)).reduce((n, s) => Math.max(n, s.last), 0) + 1;
      await this.#bucket.put(segmentName(k, p.next, this.#writer), text);
      p.next++;
    } catch (err) {
      // Kept, ahead of what came since, for the next flush: a failed upload loses no line.
      p.chunks.unshift(text);
      p.bytes += Buffer.byteLength(text);
      throw err;
    }
  }

  /** Forgets what waits for the key, once an upload of it in progress has ended. */
  async #drop(k: string): Promise<void> {
    const p = this.#pending.get(k);
    if (!p) return;
    this.#pending.delete(k);
    await p.chain;
  }

  /** Uploads every key's waiting appends a little later; again later if an upload fails. */
  #arm(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch((err: unknown) => {
        this.#onFlushError(err);
        if ([...this.#pending.values()].some((p) => p.chunks.length > 0)) this.#arm();
      });
    }, this.#o.flushMs);
    // A waiting upload does not keep the process alive: close() flushes what is left.
    this.#timer.unref();
  }
}

/** Whether `key` is `prefix` itself, under it as a folder, or one of its segments. */
function within(key: string, prefix: string): boolean {
  return key === prefix || key.startsWith(`${prefix}/`) || key.startsWith(`${prefix}${SEGMENTS}`);
}

/** An object listed a moment ago is gone: compacted (read again) or removed by retention. */
class Vanished extends SluiceError {
  constructor(key: string, url: string) {
    super(
      ErrorCode.NOT_FOUND,
      `${url}: object ${key} was removed while it was read (retention, or another process)`,
    );
  }
}
