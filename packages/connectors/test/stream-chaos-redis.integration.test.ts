import { describe, expect, it } from 'vitest';
import { freshSchemaPerTest } from './pg-schema.ts';
import { addEntries, freshStream, groupLag, pendingCount, REDIS_URL } from './redis-stream.ts';
import { chaosIntoPostgres, chaosOrders } from './stream-chaos.ts';

// The chaos test (stream-chaos.ts) for Redis Streams. Every run reads as the same consumer (its
// name derives from the step), so entries a killed run read and never acknowledged are its own
// pending entries, read again first by the next run.
const N = 20_000;
const db = freshSchemaPerTest();

describe('a Redis stream killed five times', () => {
  it('Redis Streams → PostgreSQL upsert: every entry exactly once in the table, none left pending', async () => {
    const stream = freshStream('chaos');
    const orders = chaosOrders(N);
    for (let i = 0; i < N; i += 1000) await addEntries(stream, orders.slice(i, i + 1000));
    await chaosIntoPostgres(
      db.admin,
      db.schema,
      {
        source: 'redis-stream',
        with: {
          url: REDIS_URL,
          stream,
          group: 'chaos',
          maxPending: 50,
          batchSize: 25,
          stopAfter: { idleSeconds: 2 },
        },
      },
      N,
    );
    // Every entry delivered to the group and acknowledged.
    expect(await groupLag(stream, 'chaos')).toBe(0);
    expect(await pendingCount(stream, 'chaos')).toBe(0);
  }, 180_000);
});
