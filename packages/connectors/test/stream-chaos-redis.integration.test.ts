import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { killFiveTimesThenFinish } from './conformance-cli.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL } from './pg-schema.ts';
import { addEntries, freshStream, groupLag, pendingCount, REDIS_URL } from './redis-stream.ts';

// The chaos test for Redis Streams, as stream-chaos.integration.test.ts does it for
// RabbitMQ and MQTT: `sluice run` SIGKILLed five times and resumed each time. Every run reads as
// the same consumer (its name derives from the step), so entries a killed run read and never
// acknowledged are its own pending entries, read again first by the next run; the upsert on the
// entry's id makes the table hold each entry exactly once.
const N = 20_000;
const db = freshSchemaPerTest();

const order = (i: number) => ({ id: i, name: `order ${i}, "quoted"`, amount: (i * 7) % 1000 });

describe('a Redis stream killed five times', () => {
  it('Redis Streams → PostgreSQL upsert: every entry exactly once in the table, none left pending', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-chaos-redis-'));
    const stream = freshStream('chaos');
    for (let i = 0; i < N; i += 1000)
      await addEntries(
        stream,
        Array.from({ length: 1000 }, (_, j) => order(i + j + 1)),
      );
    const table = `${db.schema}.orders`;
    await db.admin.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, name text, amount integer)`);
    const spec = join(dir, 'chaos.yaml');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'chaos-redis',
        retry: { attempts: 1 },
        flow: [
          {
            source: 'redis-stream',
            with: {
              url: REDIS_URL,
              stream,
              group: 'chaos',
              maxPending: 50,
              batchSize: 25,
              meta: false,
              stopAfter: { idleSeconds: 2 },
            },
          },
          {
            sink: 'postgres',
            with: {
              url: TEST_DATABASE_URL,
              dbSchema: db.schema,
              table: 'orders',
              mode: 'upsert',
              key: ['id'],
            },
          },
        ],
      }),
    );
    // Kills at a checkpoint (right after its entries were acknowledged) and at arbitrary times
    // (before connecting, between a commit and its XACK, mid-batch).
    await killFiveTimesThenFinish(dir, spec, [3, { afterMs: 700 }, 2, { afterMs: 1200 }, 4]);

    const { rows } = await db.admin.query<{ id: string; name: string; amount: number }>(
      `SELECT id, name, amount FROM ${table} ORDER BY id`,
    );
    expect(rows.length).toBe(N);
    const wrong = rows.filter((r, i) => {
      const want = order(i + 1);
      return Number(r.id) !== want.id || r.name !== want.name || r.amount !== want.amount;
    });
    expect(wrong).toEqual([]);
    // Every entry delivered to the group and acknowledged.
    expect(await groupLag(stream, 'chaos')).toBe(0);
    expect(await pendingCount(stream, 'chaos')).toBe(0);
  }, 180_000);
});
