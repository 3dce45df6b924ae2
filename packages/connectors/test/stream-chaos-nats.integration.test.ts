import { describe, expect, it } from 'vitest';
import { consumerState, freshStream, NATS_URL, publish } from './nats.ts';
import { freshSchemaPerTest } from './pg-schema.ts';
import { chaosIntoPostgres, chaosOrders } from './stream-chaos.ts';

// The chaos test (stream-chaos.ts) for NATS JetStream. A killed run's unacknowledged messages come
// again once `ackWait` has passed (a kill gives nothing back), to the resumed run.
const N = 5000;
const db = freshSchemaPerTest();

describe('a NATS stream killed five times', () => {
  it('NATS → PostgreSQL upsert: every message exactly once in the table, none left unacknowledged', async () => {
    const { stream, prefix } = await freshStream('chaos');
    await publish(`${prefix}.orders`, chaosOrders(N), false);
    await chaosIntoPostgres(
      db.admin,
      db.schema,
      {
        source: 'nats',
        with: {
          url: NATS_URL,
          stream,
          consumer: 'chaos',
          // Short, so a killed run's messages come back soon; a window of 50 checkpoints every
          // 50 messages, far sooner than ackWait.
          ackWait: '3s',
          maxAckPending: 50,
          batchSize: 25,
          // Longer than ackWait: the last kill's messages come back before the run ends.
          stopAfter: { idleSeconds: 5 },
        },
      },
      N,
    );
    // Every message acknowledged: none waiting, none delivered and unacknowledged.
    expect(await consumerState(stream, 'chaos')).toMatchObject({ waiting: 0, unacknowledged: 0 });
  }, 240_000);
});
