import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_KEYS, type S3Server, startS3 } from '../../connectors/test/s3-server.ts';
import { liveSegments, parseSegment } from '../src/storage/s3-segments.ts';
import { S3Store, type S3StoreOptions } from '../src/storage/s3-store.ts';

let s3: S3Server;
let s3Options: S3StoreOptions['s3'];
const open: S3Store[] = [];

beforeAll(async () => {
  s3 = await startS3();
  await s3.bucket('artifacts');
  s3Options = { endpoint: s3.endpoint, ...S3RVER_KEYS };
});
afterAll(async () => {
  for (const s of open) await s.close().catch(() => undefined);
  await s3?.close();
});

/** A store over the test bucket; flushMs long by default, so only what a test flushes is uploaded. */
async function store(prefix: string, o: Omit<S3StoreOptions, 's3'> = { flushMs: 60_000 }): Promise<S3Store> {
  const s = await S3Store.open(`s3://artifacts/${prefix}`, { s3: s3Options, ...o });
  open.push(s);
  return s;
}

async function text(r: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

/** The keys of the objects put under a prefix, in the order they were put. */
const listed = (prefix: string) =>
  s3.requests.filter((r) => r.startsWith(`PUT /artifacts/${prefix}`)).map((r) => r.slice(4).split('?')[0]!);

describe('S3 store', () => {
  it('reads what it appended at once, and another process reads it once it is flushed', async () => {
    const writer = await store('p1');
    const reader = await store('p1');
    await writer.append('jobs/j1/log.ndjson', 'one\n');
    await writer.append('jobs/j1/log.ndjson', 'two\n');
    expect(await reader.size('jobs/j1/log.ndjson'), 'nothing uploaded yet').toBeUndefined();
    expect(await text(writer.read('jobs/j1/log.ndjson')), 'its own appends, uploaded to be read').toBe(
      'one\ntwo\n',
    );
    expect(await text(reader.read('jobs/j1/log.ndjson'))).toBe('one\ntwo\n');
    // A job still running: more lines, read by the other process while they come.
    await writer.append('jobs/j1/log.ndjson', 'three\n');
    await writer.flush('jobs/j1/log.ndjson');
    await writer.append('jobs/j1/log.ndjson', 'four\n');
    await writer.flush();
    expect(await reader.size('jobs/j1/log.ndjson')).toBe(19);
    expect(await text(reader.read('jobs/j1/log.ndjson'))).toBe('one\ntwo\nthree\nfour\n');
    expect(await text(reader.read('jobs/j1/log.ndjson', 6)), 'from an offset inside a segment').toBe(
      'o\nthree\nfour\n',
    );
    expect(await text(reader.read('jobs/j1/log.ndjson', 8)), 'from a segment boundary').toBe('three\nfour\n');
    expect(await text(reader.read('jobs/j1/log.ndjson', 19)), 'from the end').toBe('');
    expect(listed('p1/jobs/j1/log.ndjson.seg/')).toHaveLength(3);
  });

  it('uploads on its own after flushMs, and at flushBytes', async () => {
    const writer = await store('p2', { flushMs: 50, flushBytes: 10 });
    const reader = await store('p2');
    await writer.append('a.log', 'x\n');
    // The timer uploads it; polled, since how soon is the timer's business.
    while ((await reader.size('a.log')) === undefined) await new Promise((r) => setTimeout(r, 20));
    expect(await text(reader.read('a.log'))).toBe('x\n');
    const big = await store('p2', { flushMs: 60_000, flushBytes: 10 });
    await big.append('b.log', '0123456789abc\n');
    expect(await reader.size('b.log'), 'over flushBytes: uploaded before append returned').toBe(14);
  });

  it('keeps appended text whose upload failed, and uploads it later, timed or flushed', async () => {
    await s3.bucket('flaky');
    const errors: unknown[] = [];
    const s = await S3Store.open('s3://flaky/x', {
      s3: s3Options,
      flushMs: 50,
      onFlushError: (e) => errors.push(e),
    });
    open.push(s);
    await s3.removeBucket('flaky');
    await s.append('log', 'a\n');
    while (errors.length === 0) await new Promise((r) => setTimeout(r, 20));
    expect(String(errors[0])).toMatch(/bucket "flaky" does not exist/);
    await s.append('log', 'b\n');
    await expect(s.flush('log')).rejects.toThrow(/bucket "flaky" does not exist/);
    await s3.bucket('flaky');
    await s.append('log', 'c\n');
    await s.flush('log');
    const reader = await S3Store.open('s3://flaky/x', { s3: s3Options });
    open.push(reader);
    expect(await text(reader.read('log'))).toBe('a\nb\nc\n');
  });

  it('compacts a key’s segments into one object when its writer flushes it, and reads the same', async () => {
    const writer = await store('p7');
    const reader = await store('p7');
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i}\n`);
    for (const line of lines) {
      await writer.append('log', line);
      await writer.flush(); // all keys: no compaction, as the timer does
    }
    expect(listed('p7/log.seg/')).toHaveLength(20);
    expect(await text(reader.read('log'))).toBe(lines.join(''));
    await writer.flush('log'); // the job's end
    const compacted = listed('p7/log.seg/').filter((k) => k.includes('-from-'));
    expect(compacted).toEqual([expect.stringMatching(/\/log\.seg\/00000020-[0-9a-f]+-from-00000001$/)]);
    const before = s3.requests.length;
    expect(await text(reader.read('log'))).toBe(lines.join(''));
    expect(await text(reader.read('log', 7))).toBe(lines.join('').slice(7));
    const gets = s3.requests.slice(before).filter((r) => r.startsWith('GET /artifacts/p7/log.seg/'));
    expect(gets, 'one object per read, the segments deleted').toHaveLength(2);
    // A later append (a dead-letter line) goes on after the compaction.
    await writer.append('log', 'after\n');
    await writer.flush('log');
    expect(listed('p7/log.seg/').at(-1)).toMatch(/\/log\.seg\/00000021-[0-9a-f]+$/);
    expect(await text(reader.read('log'))).toBe(`${lines.join('')}after\n`);
  });

  it('reads around a compaction not yet finished: the segments it covers are ignored', () => {
    const seg = (name: string) => parseSegment({ key: `k.seg/${name}`, size: 1 })!;
    const live = liveSegments([
      seg('00000001-aa'),
      seg('00000002-aa'),
      seg('00000002-bb'),
      seg('00000002-aa-from-00000001'),
      seg('00000002-bb-from-00000001'),
      seg('00000003-aa'),
    ]);
    expect(live.map((s) => s.key)).toEqual(['k.seg/00000002-aa-from-00000001', 'k.seg/00000003-aa']);
  });

  it('continues the numbering of segments another process left', async () => {
    const first = await store('p3');
    await first.append('log', 'a\n');
    await first.close();
    const second = await store('p3');
    await second.append('log', 'b\n');
    await second.flush('log');
    const segs = listed('p3/log.seg/');
    expect(segs.map((k) => k.replace(/-.*$/, ''))).toEqual([
      '/artifacts/p3/log.seg/00000001',
      '/artifacts/p3/log.seg/00000002',
    ]);
    expect(await text((await store('p3')).read('log'))).toBe('a\nb\n');
  });

  it('writes whole values from text and streams, reads ranges, and replaces appended ones', async () => {
    const s = await store('p4');
    await s.write('jobs/j/r.json', '{"a":1}');
    async function* chunks() {
      for (let i = 0; i < 1000; i++) yield Buffer.from(`${String(i).padStart(5, '0')}\n`);
    }
    await s.write('jobs/j/out.log', chunks());
    expect(await s.size('jobs/j/out.log')).toBe(6000);
    expect(await text(s.read('jobs/j/out.log', 5994))).toBe('00999\n');
    expect(await text(s.read('jobs/j/r.json'))).toBe('{"a":1}');
    await s.append('jobs/j/x', 'old\n');
    await s.flush();
    await s.write('jobs/j/x', 'new\n');
    expect(await text(s.read('jobs/j/x'))).toBe('new\n');
    await s.append('jobs/j/x', 'more\n');
    expect(await text(s.read('jobs/j/x')), 'an object, then its segments').toBe('new\nmore\n');
  });

  it('removes a folder with its segments and waiting appends, and nothing beside it', async () => {
    const s = await store('p5');
    // Not past a page of a listing (1,000 keys): s3rver's continuation tokens need a cipher
    // OpenSSL 3 no longer offers (ERR_OSSL_EVP_UNSUPPORTED).
    const names = Array.from({ length: 30 }, (_, i) => `jobs/j1/f${i}`);
    await Promise.all(names.map((n) => s.write(n, 'x')));
    await s.append('jobs/j1/log.ndjson', 'line\n');
    await s.flush();
    await s.write('jobs/j10/keep', 'k');
    await s.append('jobs/j1/log.ndjson', 'pending\n');
    await s.remove('jobs/j1/');
    expect(await s.size('jobs/j1/f0')).toBeUndefined();
    expect(await s.size('jobs/j1/f29')).toBeUndefined();
    expect(await s.size('jobs/j1/log.ndjson'), 'its waiting appends went too').toBeUndefined();
    expect(await s.size('jobs/j10/keep'), 'a key that only starts alike').toBe(1);
  });

  it('refuses keys that leave the store or take a segment name, and says when a key has no value', async () => {
    const s = await store('p6');
    await expect(s.append('../escape', 'x')).rejects.toThrow(/leaves the store/);
    await expect(s.write('/abs', 'x')).rejects.toThrow(/leaves the store/);
    await expect(s.remove('a/../../b')).rejects.toThrow(/leaves the store/);
    await expect(s.write('jobs/x.seg/1', 'x')).rejects.toThrow(/\.seg is kept/);
    await expect(text(s.read('missing'))).rejects.toThrow(/no stored file "missing"/);
  });

  it('fails to open with a message saying what to check', async () => {
    await expect(S3Store.open('s3://no-such-bucket/x', { s3: s3Options })).rejects.toThrow(
      /bucket "no-such-bucket" does not exist/,
    );
    await expect(
      S3Store.open('s3://artifacts/x', { s3: { ...s3Options, accessKeyId: 'NOBODY' } }),
    ).rejects.toThrow(/access denied/);
    await expect(
      S3Store.open('s3://artifacts/x', { s3: { ...s3Options, endpoint: 'http://127.0.0.1:1' } }),
    ).rejects.toThrow(/cannot reach the S3 store at http:\/\/127.0.0.1:1/);
  });
});
