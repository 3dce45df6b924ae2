import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, type Row, runPipeline } from '@sluice/core';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTransform } from '../../test/harness.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL as PG } from '../../test/pg-schema.ts';
import { builtinConnectors } from '../registry.ts';
import { lookupTransform } from './transform.ts';

const REDIS = process.env.SLUICE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A lookup transform whose connections close when the test ends (the flow closes its stage in a run). */
async function lookup(config: Record<string, unknown>, baseDir?: string) {
  const t = await createTransform(lookupTransform, config, baseDir ? { baseDir } : {});
  return { ...t, close: () => t.finish() };
}

describe('lookup from PostgreSQL', () => {
  const db = freshSchemaPerTest(
    `CREATE TABLE $schema.customers (id int PRIMARY KEY, name text, tier text);
     INSERT INTO $schema.customers VALUES (1, 'Ada', 'gold'), (2, 'Bo', 'silver'), (7, 'Cy', 'gold')`,
  );
  const cfg = () => ({
    from: 'postgres',
    url: PG,
    dbSchema: db.schema,
    table: 'customers',
    key: { customer_id: 'id' },
  });

  it('maps found rows, keeps misses with null fields, and answers repeated keys from the cache', async () => {
    const t = await lookup({ ...cfg(), fields: { name: 'customer_name', tier: 'customer_tier' } });
    try {
      const out = await t.run([
        { order: 1, customer_id: '1' },
        { order: 2, customer_id: 7 },
        { order: 3, customer_id: '007' }, // prints as 7 in an integer column
        { order: 4, customer_id: '99' },
        { order: 5, customer_id: 'abc' }, // an integer column cannot hold it: a miss, not an error
        { order: 6, customer_id: null },
      ]);
      expect(out).toEqual([
        { order: 1, customer_id: '1', customer_name: 'Ada', customer_tier: 'gold' },
        { order: 2, customer_id: 7, customer_name: 'Cy', customer_tier: 'gold' },
        { order: 3, customer_id: '007', customer_name: 'Cy', customer_tier: 'gold' },
        { order: 4, customer_id: '99', customer_name: null, customer_tier: null },
        { order: 5, customer_id: 'abc', customer_name: null, customer_tier: null },
        { order: 6, customer_id: null, customer_name: null, customer_tier: null },
      ]);
      expect(t.harness.counters).toEqual({
        'cache.misses': 6,
        'lookup.keysFetched': 5,
        'lookup.notFound': 3,
      });
      // The table changes, but every key (the misses too) is cached: the second batch asks nothing.
      await db.admin.query(`UPDATE ${db.schema}.customers SET name = 'changed'`);
      await db.admin.query(`INSERT INTO ${db.schema}.customers VALUES (99, 'late', 'x')`);
      const again = await t.run([{ customer_id: '1' }, { customer_id: '99' }]);
      expect(again.map((r) => r.customer_name)).toEqual(['Ada', null]);
      expect(t.harness.counters).toMatchObject({ 'cache.hits': 2, 'lookup.keysFetched': 5 });
    } finally {
      await t.close();
    }
  });

  it('takes every column but the key by default, and a query instead of a table', async () => {
    const t = await lookup({
      from: 'postgres',
      url: PG,
      query: `SELECT id, upper(name) AS shout FROM ${db.schema}.customers WHERE tier = 'gold';`,
      key: { c: 'id' },
    });
    try {
      expect(await t.run([{ c: 1 }, { c: 2 }])).toEqual([
        { c: 1, shout: 'ADA' },
        { c: 2, shout: null },
      ]);
    } finally {
      await t.close();
    }
  });

  it('quarantines a missed row with the key and value as reason, or fails the step', async () => {
    const q = await lookup({ ...cfg(), onMiss: 'quarantine' });
    try {
      expect(await q.run([{ customer_id: 1 }, { customer_id: 42 }, {}])).toEqual([
        { customer_id: 1, name: 'Ada', tier: 'gold' },
      ]);
      expect(q.harness.quarantined.map((e) => e.reason)).toEqual([
        `lookup: customer_id = "42" not found in ${db.schema}.customers (column id)`,
        'lookup: key field customer_id is missing',
      ]);
      expect(q.harness.quarantined[0]!.row).toEqual({ customer_id: 42 });
    } finally {
      await q.close();
    }
    const f = await lookup({ ...cfg(), onMiss: 'fail' });
    try {
      await expect(f.run([{ customer_id: 1 }, { customer_id: 42 }])).rejects.toThrow(
        /customer_id = "42" not found in .*customers \(column id\) — onMiss is fail/,
      );
    } finally {
      await f.close();
    }
  });

  it('refetches an entry once its ttl passed, and gives the same rows with lfu and compression', async () => {
    const ttl = await lookup({ ...cfg(), fields: { name: 'name' }, cache: { policy: 'ttl', ttl: '50ms' } });
    try {
      expect((await ttl.run([{ customer_id: 1 }]))[0]!.name).toBe('Ada');
      await db.admin.query(`UPDATE ${db.schema}.customers SET name = 'Ada L.' WHERE id = 1`);
      expect((await ttl.run([{ customer_id: 1 }]))[0]!.name).toBe('Ada'); // still cached
      await new Promise((r) => setTimeout(r, 80));
      expect((await ttl.run([{ customer_id: 1 }]))[0]!.name).toBe('Ada L.');
      expect(ttl.harness.counters).toMatchObject({
        'cache.expired': 1,
        'lookup.keysFetched': 2,
        'cache.hits': 1,
      });
    } finally {
      await ttl.close();
    }
    const lfu = await lookup({ ...cfg(), cache: { policy: 'lfu', maxEntries: 2, compress: true } });
    try {
      const batch = [1, 2, 1, 7, 1].map((customer_id) => ({ customer_id }));
      const names = async () => (await lfu.run(batch)).map((r) => r.name);
      expect(await names()).toEqual(['Ada L.', 'Bo', 'Ada L.', 'Cy', 'Ada L.']);
      expect(await names()).toEqual(['Ada L.', 'Bo', 'Ada L.', 'Cy', 'Ada L.']);
      // Three keys, two entries: each batch evicts, and the rows come out right all the same.
      expect(lfu.harness.counters!['cache.evictions']).toBeGreaterThanOrEqual(2);
      expect(lfu.harness.counters!['cache.hits']).toBeGreaterThanOrEqual(2);
    } finally {
      await lfu.close();
    }
  });

  it('fails with the table named when it does not exist', async () => {
    const t = await lookup({ ...cfg(), table: 'nope' });
    try {
      await expect(t.run([{ customer_id: 1 }])).rejects.toThrow(
        /nope.*does not exist.*check the schema and table/,
      );
    } finally {
      await t.close();
    }
  });

  it('counts hits, misses and evictions into the run report of a pipeline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lookup-'));
    const rows: Row[] = [];
    for (let i = 0; i < 30; i++) rows.push({ order: i, customer_id: [1, 2, 7, 8][i % 4] });
    writeFileSync(join(dir, 'in.ndjson'), rows.map((r) => JSON.stringify(r)).join('\n'));
    const spec = {
      name: 'lookup-report',
      steps: [
        {
          id: 'enrich',
          flow: [
            { source: 'ndjson', with: { path: 'in.ndjson', batchSize: 10 } },
            { transform: 'lookup', with: { ...cfg(), fields: { name: 'name' }, cache: { maxEntries: 2 } } },
            { sink: 'ndjson', with: { path: 'out.ndjson' } },
          ],
        },
      ],
    };
    const registry = new Registry().register(...builtinConnectors);
    const report = await runPipeline(spec, { registry, baseDir: dir, stateDir: join(dir, 'state') });
    expect(report.status).toBe('success');
    const counters = report.steps[0]!.components[1]!.counters!;
    // 3 batches of 10 rows over 4 keys, 2 entries: each batch misses what the last one evicted.
    expect(counters['cache.hits']! + counters['cache.misses']!).toBe(30);
    expect(counters['cache.evictions']).toBeGreaterThan(0);
    expect(counters['lookup.notFound']).toBe(7);
    const out = readFileSync(join(dir, 'out.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out.slice(0, 4).map((r) => r.name)).toEqual(['Ada', 'Bo', 'Cy', null]);
  });
});

describe('lookup from Redis', () => {
  const prefix = `sluice-test:lookup:${randomBytes(4).toString('hex')}:`;
  const client = createClient({ url: REDIS });
  beforeAll(async () => {
    await client.connect();
    await client.hSet(`${prefix}h:1`, { name: 'Ada', tier: 'gold' });
    await client.hSet(`${prefix}h:2`, { name: 'Bo', tier: 'silver' });
    await client.set(`${prefix}j:1`, JSON.stringify({ name: 'Ada', score: 3 }));
    await client.set(`${prefix}j:bad`, '[1,2]');
  });
  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(keys);
    client.destroy();
  });

  it('reads hashes in one pipelined round trip per batch', async () => {
    const t = await lookup({ from: 'redis', url: REDIS, keyPrefix: `${prefix}h:`, key: { id: 'id' } });
    try {
      expect(await t.run([{ id: 1 }, { id: '2' }, { id: 3 }, { id: 1 }])).toEqual([
        { id: 1, name: 'Ada', tier: 'gold' },
        { id: '2', name: 'Bo', tier: 'silver' },
        { id: 3, name: null, tier: null },
        { id: 1, name: 'Ada', tier: 'gold' },
      ]);
      expect(t.harness.counters).toMatchObject({ 'lookup.keysFetched': 3, 'cache.misses': 4 });
    } finally {
      await t.close();
    }
  });

  it('reads JSON strings with MGET, mapping fields, and refuses a value that is not an object', async () => {
    const t = await lookup({
      from: 'redis',
      url: REDIS,
      keyPrefix: `${prefix}j:`,
      valueType: 'json',
      key: { id: 'id' },
      fields: { score: 'points' },
      onMiss: 'quarantine',
    });
    try {
      expect(await t.run([{ id: 1 }, { id: 5 }])).toEqual([{ id: 1, points: 3 }]);
      expect(t.harness.quarantined[0]!.reason).toMatch(/id = "5" not found in Redis keys/);
      await expect(t.run([{ id: 'bad' }])).rejects.toThrow(/does not hold a JSON object/);
    } finally {
      await t.close();
    }
  });

  it('says which server it cannot reach', async () => {
    const t = await lookup({ from: 'redis', url: 'redis://127.0.0.1:1', key: { id: 'id' } });
    try {
      await expect(t.run([{ id: 1 }])).rejects.toThrow(/cannot connect to Redis at 127\.0\.0\.1:1/);
    } finally {
      await t.close();
    }
  });
});

describe('lookup from a file', () => {
  it('loads a CSV once and refuses one bigger than cache.maxBytes, naming the limit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lookup-file-'));
    writeFileSync(join(dir, 'tiers.csv'), 'code,label\ng,Gold\ns,Silver\n');
    const t = await lookup({ from: 'file', path: 'tiers.csv', key: { tier: 'code' } }, dir);
    expect(await t.run([{ tier: 's' }, { tier: 'x' }])).toEqual([
      { tier: 's', label: 'Silver' },
      { tier: 'x', label: null },
    ]);
    expect(t.harness.counters).toMatchObject({ 'lookup.notFound': 1 });
    const big = await lookup(
      { from: 'file', path: 'tiers.csv', key: { tier: 'code' }, cache: { maxBytes: 200 } },
      dir,
    );
    await expect(big.run([{ tier: 's' }])).rejects.toThrow(/more than cache\.maxBytes \(200 bytes/);
  });
});
