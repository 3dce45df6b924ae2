import { Registry } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { parseSize } from '../shared/size.ts';
import { cacheOptions, type LookupConfig, parseDuration } from './config.ts';
import { lookupTransform } from './transform.ts';

const issues = (config: Record<string, unknown>) =>
  new Registry().check(lookupTransform, config, 'with').map((i) => `${i.path}: ${i.message}`);

const pg = { from: 'postgres', url: 'postgres://x@h/db', table: 't', key: { a: 'id' } };

describe('lookup config', () => {
  it('accepts a complete config of each backend', () => {
    expect(issues(pg)).toEqual([]);
    expect(issues({ from: 'redis', url: 'redis://h:6379', keyPrefix: 'c:', key: { a: 'id' } })).toEqual([]);
    expect(issues({ from: 'file', path: 'ref.parquet', key: { a: 'id' } })).toEqual([]);
  });

  it('refuses what a backend needs or cannot use, at the option’s path', () => {
    expect(issues({ ...pg, url: undefined })).toEqual([
      'with.url: from: postgres needs the url of the server',
    ]);
    expect(issues({ ...pg, query: 'SELECT 1' })).toEqual([
      'with.table: give either table or query, not both and not neither',
    ]);
    expect(issues({ ...pg, path: 'x.csv' })[0]).toMatch(
      /^with\.path: applies to from: file, not from: postgres/,
    );
    expect(issues({ from: 'file', path: 'ref.dat', key: { a: 'id' } })[0]).toMatch(
      /^with\.format: cannot tell the format of ref\.dat/,
    );
    expect(issues({ ...pg, keyPrefix: 'c:' })).toEqual([
      'with.keyPrefix: applies to from: redis only; remove it',
    ]);
  });

  it('takes one key pair, and checks the cache options', () => {
    expect(issues({ ...pg, key: { a: 'id', b: 'other' } })[0]).toMatch(/^with\.key/);
    expect(issues({ ...pg, cache: { policy: 'ttl' } })).toEqual([
      'with.cache.ttl: the ttl policy needs a ttl, e.g. 10m',
    ]);
    expect(issues({ ...pg, cache: { policy: 'lfu', ttl: '1m' } })[0]).toMatch(/^with\.cache\.ttl: lfu keeps/);
    expect(issues({ ...pg, cache: { maxBytes: '64 parsecs' } })[0]).toMatch(/^with\.cache\.maxBytes/);
  });

  it('reads sizes and durations', () => {
    expect(parseSize('64MiB')).toBe(64 * 2 ** 20);
    expect(parseSize('1.5 KB')).toBe(1500);
    expect(parseSize(1000)).toBe(1000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration(2)).toBe(2000);
    const cfg = new Registry().validate<LookupConfig>(lookupTransform, pg, 'with');
    expect(cacheOptions(cfg)).toEqual({
      policy: 'lru',
      maxEntries: 100_000,
      maxBytes: 64 * 2 ** 20,
      ttlMs: undefined,
      compress: false,
    });
  });
});
