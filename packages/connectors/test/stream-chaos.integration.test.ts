import { describe, expect, it } from 'vitest';
import { AMQP_URL, freshQueue, publish, queueDepth } from './amqp.ts';
import { fresh, MQTT_URL, primeSession, publish as publishMqtt } from './mqtt.ts';
import { freshSchemaPerTest } from './pg-schema.ts';
import { chaosIntoPostgres, chaosOrders } from './stream-chaos.ts';

// The chaos test (stream-chaos.ts) for RabbitMQ and MQTT.
const db = freshSchemaPerTest();

describe('a stream killed five times', () => {
  it('RabbitMQ → PostgreSQL upsert: every message exactly once in the table, all acknowledged', async () => {
    const N = 20_000;
    const queue = await freshQueue('chaos');
    await publish(queue, chaosOrders(N));
    await chaosIntoPostgres(
      db.admin,
      db.schema,
      {
        source: 'rabbitmq',
        with: { url: AMQP_URL, queue, prefetch: 50, batchSize: 25, stopAfter: { idleSeconds: 2 } },
      },
      N,
    );
    // Every message acknowledged: none ready, and none unacknowledged (those come back when a
    // consumer's connection closes, and every run's has).
    expect(await queueDepth(queue)).toBe(0);
  }, 180_000);

  it('MQTT → PostgreSQL upsert: every message exactly once in the table, none left in the session', async () => {
    // Fewer than Mosquitto keeps for an offline session (max_queued_messages, 1000 by default).
    const N = 900;
    const { topic, clientId } = fresh('chaos');
    await primeSession(clientId, topic);
    await publishMqtt(topic, chaosOrders(N));
    // A small window: checkpoints every ten messages, so the kills land mid-stream.
    const source = { url: MQTT_URL, topics: [topic], clientId, window: 10, batchSize: 10 };
    await chaosIntoPostgres(
      db.admin,
      db.schema,
      { source: 'mqtt', with: { ...source, stopAfter: { idleSeconds: 2 } } },
      N,
      [3, 2, { afterMs: 800 }, 4, 3],
    );
  }, 180_000);
});
