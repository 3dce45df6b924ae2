import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createCache, LfuCache, sizeOf } from './cache.ts';

const BIG = 1 << 30;

describe('lookup cache: LRU', () => {
  it('evicts the least recently used entry when full, and counts the eviction', () => {
    const c = createCache<string>({ policy: 'lru', maxEntries: 2, maxBytes: BIG });
    c.set('a', 'A');
    c.set('b', 'B');
    expect(c.get('a')).toBe('A'); // a is now more recent than b
    c.set('c', 'C');
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe('A');
    expect(c.get('c')).toBe('C');
    expect(c.counts.evictions).toBe(1);
  });

  it('keeps its estimated bytes under maxBytes, evicting the oldest', () => {
    const value = 'x'.repeat(1000); // ~2 KB each with the entry's overhead
    const c = createCache<string>({ policy: 'lru', maxEntries: 1000, maxBytes: 10_000 });
    for (let i = 0; i < 20; i++) c.set(`k${i}`, value);
    expect(c.bytes).toBeLessThanOrEqual(10_000);
    expect(c.size).toBe(4);
    expect(c.get('k19')).toBe(value);
    expect(c.get('k0')).toBeUndefined();
    expect(c.counts.evictions).toBe(16);
  });

  it('stores null (a negative entry) and tells it from absence', () => {
    const c = createCache<string | null>({ policy: 'lru', maxEntries: 10, maxBytes: BIG });
    c.set('gone', null);
    expect(c.get('gone')).toBeNull();
    expect(c.get('never')).toBeUndefined();
  });
});

describe('lookup cache: TTL', () => {
  it('expires entries after their ttl and counts them as expired, not evicted', async () => {
    const c = createCache<number>({ policy: 'ttl', maxEntries: 10, maxBytes: BIG, ttlMs: 30 });
    c.set('a', 1);
    expect(c.get('a')).toBe(1);
    await sleep(60);
    expect(c.get('a')).toBeUndefined();
    expect(c.counts).toEqual({ evictions: 0, expired: 1 });
  });
});

describe('lookup cache: LFU', () => {
  it('evicts the least frequently used entry, the oldest of equally used ones first', () => {
    const c = new LfuCache<string>({ maxEntries: 3, maxBytes: BIG });
    c.set('a', 'A');
    c.set('b', 'B');
    c.set('c', 'C');
    c.get('a');
    c.get('a');
    c.get('c');
    // uses: a 3, b 1, c 2 → b goes
    c.set('d', 'D');
    expect(c.get('b')).toBeUndefined();
    expect([c.frequency('a'), c.frequency('c'), c.frequency('d')]).toEqual([3, 2, 1]);
    // d (1) is now the least used: the next insert evicts it, not the older but busier c
    c.set('e', 'E');
    expect(c.get('d')).toBeUndefined();
    expect(c.get('c')).toBe('C');
    expect(c.counts.evictions).toBe(2);
  });

  it('among entries used equally often evicts the one that reached that count first', () => {
    const c = new LfuCache<number>({ maxEntries: 2, maxBytes: BIG });
    c.set('x', 1);
    c.set('y', 2);
    c.get('y');
    c.get('x'); // both at 2; y got there first
    c.set('z', 3);
    expect(c.get('y')).toBeUndefined();
    expect(c.get('x')).toBe(1);
  });

  it('replacing a value keeps the count of entries and bytes right', () => {
    const c = new LfuCache<string>({ maxEntries: 5, maxBytes: BIG });
    c.set('a', 'short');
    const before = c.bytes;
    c.set('a', 'a much longer value');
    expect(c.size).toBe(1);
    expect(c.bytes).toBe(before + 2 * ('a much longer value'.length - 'short'.length));
    expect(c.get('a')).toBe('a much longer value');
  });

  it('evicts as many entries as a big one needs, and refuses one bigger than the limit', () => {
    const c = new LfuCache<string>({ maxEntries: 100, maxBytes: 2000 });
    for (let i = 0; i < 10; i++) c.set(`k${i}`, 'v');
    c.get('k9');
    c.set('big', 'x'.repeat(700)); // ~1.5 KB: most small ones must go, k9 (used) last
    expect(c.bytes).toBeLessThanOrEqual(2000);
    expect(c.get('big')).toHaveLength(700);
    expect(c.get('k9')).toBe('v');
    expect(c.get('k0')).toBeUndefined();
    c.set('huge', 'x'.repeat(5000));
    expect(c.get('huge')).toBeUndefined();
  });

  it('stays O(1): 200k operations over 20k keys in a 10k-entry cache take under a second, not minutes', () => {
    const c = new LfuCache<number>({ maxEntries: 10_000, maxBytes: BIG });
    const t0 = performance.now();
    // An O(n) eviction would cost ~10k steps each: 2e9 in all. Limit generous for a loaded machine.
    for (let i = 0; i < 200_000; i++) {
      const k = `k${(i * 7919) % 20_000}`;
      if (c.get(k) === undefined) c.set(k, i);
    }
    expect(c.size).toBe(10_000);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

describe('lookup cache: compression', () => {
  it('round-trips rows, dates and negative entries through deflate', () => {
    const c = createCache<Record<string, unknown> | null>({
      policy: 'lru',
      maxEntries: 10,
      maxBytes: BIG,
      compress: true,
    });
    const row = { name: 'Ada', since: new Date('2020-01-02T00:00:00Z'), n: 12n, tags: ['a', 'b'] };
    c.set('1', row);
    c.set('2', null);
    expect(c.get('1')).toEqual(row);
    expect(c.get('2')).toBeNull();
    expect(c.get('3')).toBeUndefined();
  });

  it('holds a repetitive value in fewer bytes than uncompressed', () => {
    const v = { text: 'abc'.repeat(500) };
    const plain = createCache<object>({ policy: 'lfu', maxEntries: 10, maxBytes: BIG });
    const small = createCache<object>({ policy: 'lfu', maxEntries: 10, maxBytes: BIG, compress: true });
    plain.set('k', v);
    small.set('k', v);
    expect(small.bytes * 5).toBeLessThan(plain.bytes);
    expect(sizeOf(v)).toBeGreaterThan(3000);
  });
});
