import { deserialize, serialize } from 'node:v8';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';

export type CachePolicy = 'lru' | 'lfu' | 'ttl';

export interface CacheOptions {
  policy: CachePolicy;
  /** Entries kept at most. */
  maxEntries: number;
  /** Estimated bytes (keys and values, see `sizeOf`) kept at most. */
  maxBytes: number;
  /** Milliseconds an entry lives (`ttl` policy, optional with `lru`). */
  ttlMs?: number | undefined;
  /** Stores values deflated: less memory, a decompression per hit. */
  compress?: boolean;
}

/** What a cache did since it was made: evictions make room, expiries end a TTL. */
export interface CacheCounts {
  evictions: number;
  expired: number;
}

/**
 * A bounded key → value cache. `get` counts as a use (recency for LRU, frequency for LFU); `set`
 * may evict others to make room, and stores nothing when the entry alone exceeds `maxBytes`.
 */
export interface LookupCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  readonly size: number;
  readonly bytes: number;
  readonly counts: CacheCounts;
  clear(): void;
}

// Per entry besides its key and value: the map slot, the list links, the entry object.
const ENTRY_OVERHEAD = 96;

/**
 * An estimate of the heap a value takes (V8 strings: ~2 bytes a character at worst, plus a
 * header). Exactness is not the point: it bounds the cache within a small factor of the limit.
 */
export function sizeOf(v: unknown): number {
  switch (typeof v) {
    case 'string':
      return 16 + 2 * v.length;
    case 'number':
    case 'boolean':
    case 'undefined':
      return 8;
    case 'bigint':
      return 24;
    case 'object': {
      if (v === null) return 8;
      if (ArrayBuffer.isView(v)) return 64 + v.byteLength;
      if (v instanceof Date) return 32;
      let n = 32;
      if (Array.isArray(v)) for (const x of v) n += 8 + sizeOf(x);
      else for (const k in v) n += 16 + 2 * k.length + sizeOf((v as Record<string, unknown>)[k]);
      return n;
    }
    default:
      return 32;
  }
}

/** A cache for `opts.policy`; values are sized with `sizeOf` unless `size` is given. */
export function createCache<V>(opts: CacheOptions, size: (v: V) => number = sizeOf): LookupCache<V> {
  if (opts.compress) return compressed<V>(opts);
  return opts.policy === 'lfu' ? new LfuCache<V>(opts, size) : new LruTtlCache<V>(opts, size);
}

/** LRU (and TTL: expiry on top of LRU's bound) through lru-cache, counting what it drops. */
class LruTtlCache<V> implements LookupCache<V> {
  readonly counts: CacheCounts = { evictions: 0, expired: 0 };
  readonly #lru: LRUCache<string, { v: V }>;

  constructor(opts: CacheOptions, size: (v: V) => number) {
    // lru-cache refuses undefined and null values: a box carries any value, a negative entry too.
    this.#lru = new LRUCache<string, { v: V }>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: (box, key) => Math.max(1, ENTRY_OVERHEAD + 2 * key.length + size(box.v)),
      ...(opts.ttlMs === undefined ? {} : { ttl: opts.ttlMs, updateAgeOnGet: false }),
      dispose: (_box, _key, reason) => {
        if (reason === 'evict') this.counts.evictions++;
        else if (reason === 'expire') this.counts.expired++;
      },
    });
  }

  get(key: string): V | undefined {
    return this.#lru.get(key)?.v;
  }

  set(key: string, value: V): void {
    this.#lru.set(key, { v: value });
  }

  get size(): number {
    return this.#lru.size;
  }

  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  clear(): void {
    this.#lru.clear();
  }
}

interface LfuEntry<V> {
  key: string;
  value: V;
  size: number;
  bucket: Bucket<V>;
  /** Neighbours in the bucket's list: older, newer. */
  prev: LfuEntry<V> | undefined;
  next: LfuEntry<V> | undefined;
}

/**
 * The entries used `freq` times, oldest first. An intrusive list, not a Set: a Set's first item is
 * found by skipping the holes its deletions leave until it rehashes, which made eviction O(n)
 * (measured: 1M operations on 10k keys took 7 s; with the list, ~1 s on a loaded machine,
 * most of it making the keys).
 */
interface Bucket<V> {
  freq: number;
  first: LfuEntry<V> | undefined;
  last: LfuEntry<V> | undefined;
  prev: Bucket<V> | undefined;
  next: Bucket<V> | undefined;
}

/**
 * Least frequently used, in O(1) per operation (Shah, Mitra and Matani, 2010): buckets of equal
 * use counts in a list sorted by count, so the victim is always the oldest entry of the first
 * bucket, and a use moves an entry to the next bucket (made when missing). Ties between equally
 * used entries go to the one that reached that count first. No well-kept library does this.
 */
export class LfuCache<V> implements LookupCache<V> {
  readonly counts: CacheCounts = { evictions: 0, expired: 0 };
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #size: (v: V) => number;
  readonly #map = new Map<string, LfuEntry<V>>();
  #head: Bucket<V> | undefined;
  #bytes = 0;

  constructor(opts: Pick<CacheOptions, 'maxEntries' | 'maxBytes'>, size: (v: V) => number = sizeOf) {
    this.#max = opts.maxEntries;
    this.#maxBytes = opts.maxBytes;
    this.#size = size;
  }

  get size(): number {
    return this.#map.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** How often `key` was used (1 when set and never read since), for tests; 0 when absent. */
  frequency(key: string): number {
    return this.#map.get(key)?.bucket.freq ?? 0;
  }

  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    this.#bump(e);
    return e.value;
  }

  set(key: string, value: V): void {
    const size = ENTRY_OVERHEAD + 2 * key.length + this.#size(value);
    const old = this.#map.get(key);
    if (old !== undefined) this.#remove(old);
    if (size > this.#maxBytes) return;
    while (this.#map.size >= this.#max || this.#bytes + size > this.#maxBytes) {
      this.#remove(this.#head!.first!);
      this.counts.evictions++;
    }
    let b = this.#head;
    if (b === undefined || b.freq !== 1) {
      b = { freq: 1, first: undefined, last: undefined, prev: undefined, next: b };
      if (this.#head) this.#head.prev = b;
      this.#head = b;
    }
    const e: LfuEntry<V> = { key, value, size, bucket: b, prev: undefined, next: undefined };
    append(b, e);
    this.#map.set(key, e);
    this.#bytes += size;
  }

  clear(): void {
    this.#map.clear();
    this.#head = undefined;
    this.#bytes = 0;
  }

  #bump(e: LfuEntry<V>): void {
    const b = e.bucket;
    let n = b.next;
    if (n === undefined || n.freq !== b.freq + 1) {
      n = { freq: b.freq + 1, first: undefined, last: undefined, prev: b, next: b.next };
      if (b.next) b.next.prev = n;
      b.next = n;
    }
    detach(b, e);
    append(n, e);
    e.bucket = n;
    if (b.first === undefined) this.#unlink(b);
  }

  #remove(e: LfuEntry<V>): void {
    this.#map.delete(e.key);
    this.#bytes -= e.size;
    const b = e.bucket;
    detach(b, e);
    if (b.first === undefined) this.#unlink(b);
  }

  #unlink(b: Bucket<V>): void {
    if (b.prev) b.prev.next = b.next;
    else this.#head = b.next;
    if (b.next) b.next.prev = b.prev;
  }
}

function append<V>(b: Bucket<V>, e: LfuEntry<V>): void {
  e.prev = b.last;
  e.next = undefined;
  if (b.last) b.last.next = e;
  else b.first = e;
  b.last = e;
}

function detach<V>(b: Bucket<V>, e: LfuEntry<V>): void {
  if (e.prev) e.prev.next = e.next;
  else b.first = e.next;
  if (e.next) e.next.prev = e.prev;
  else b.last = e.prev;
  e.prev = e.next = undefined;
}

/**
 * Values kept as deflated V8 serialisations (which, unlike JSON, keep Dates, bigints and byte
 * arrays): each set pays a serialise and a deflate, each hit an inflate and a deserialise. Worth
 * it for wide looked-up rows held by the hundred thousand; the entry count still bounds the cache.
 */
function compressed<V>(opts: CacheOptions): LookupCache<V> {
  const inner = createCache<Buffer>({ ...opts, compress: false }, (b) => 64 + b.byteLength);
  return {
    get: (key) => {
      const b = inner.get(key);
      return b === undefined ? undefined : (deserialize(inflateRawSync(b)) as V);
    },
    set: (key, value) => inner.set(key, deflateRawSync(serialize(value))),
    get size() {
      return inner.size;
    },
    get bytes() {
      return inner.bytes;
    },
    get counts() {
      return inner.counts;
    },
    clear: () => inner.clear(),
  };
}
