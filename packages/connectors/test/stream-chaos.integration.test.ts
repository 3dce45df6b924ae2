import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AMQP_URL, freshQueue, publish, queueDepth } from './amqp.ts';
import { killFiveTimesThenFinish } from './conformance-cli.ts';
import { fresh, MQTT_URL, primeSession, publish as publishMqtt } from './mqtt.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL } from './pg-schema.ts';

// The chaos test: a queue drained into PostgreSQL by `sluice run` processes that are
// killed with SIGKILL five times at different moments and resumed each time. Delivery is at least
// once (a kill between the table's commit and the acknowledgement redelivers those messages);
// the upsert on the message's id makes the table hold each message exactly once.
const N = 20_000;
const db = freshSchemaPerTest();

const order = (i: number) => ({ id: i, name: `order ${i}, "quoted"`, amount: (i * 7) % 1000 });

describe('a stream killed five times', () => {
  it('RabbitMQ → PostgreSQL upsert: every message exactly once in the table, all acknowledged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-chaos-'));
    const queue = await freshQueue('chaos');
    await publish(
      queue,
      Array.from({ length: N }, (_, i) => order(i + 1)),
    );
    const table = `${db.schema}.orders`;
    await db.admin.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, name text, amount integer)`);
    const spec = join(dir, 'chaos.yaml');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'chaos',
        retry: { attempts: 1 },
        flow: [
          {
            source: 'rabbitmq',
            with: {
              url: AMQP_URL,
              queue,
              prefetch: 50,
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
    // Kills at a checkpoint (right after its messages were acknowledged) and at arbitrary times
    // (before connecting, between a commit and its acknowledgement, mid-batch).
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
    // Every message acknowledged: none ready, and none unacknowledged (those come back when a
    // consumer's connection closes, and every run's has).
    expect(await queueDepth(queue)).toBe(0);
  }, 180_000);

  it('MQTT → PostgreSQL upsert: every message exactly once in the table, none left in the session', async () => {
    // Fewer than Mosquitto keeps for an offline session (max_queued_messages, 1000 by default).
    const M = 900;
    const dir = mkdtempSync(join(tmpdir(), 'sluice-chaos-mqtt-'));
    const { topic, clientId } = fresh('chaos');
    await primeSession(clientId, topic);
    await publishMqtt(
      topic,
      Array.from({ length: M }, (_, i) => order(i + 1)),
    );
    const table = `${db.schema}.orders`;
    await db.admin.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, name text, amount integer)`);
    const spec = join(dir, 'chaos.yaml');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'chaos-mqtt',
        retry: { attempts: 1 },
        flow: [
          {
            source: 'mqtt',
            with: {
              url: MQTT_URL,
              topics: [topic],
              clientId,
              window: 10,
              batchSize: 10,
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
    await killFiveTimesThenFinish(dir, spec, [3, 2, { afterMs: 800 }, 4, 3]);
    const { rows } = await db.admin.query<{ id: string; name: string; amount: number }>(
      `SELECT id, name, amount FROM ${table} ORDER BY id`,
    );
    expect(rows.length).toBe(M);
    expect(rows.filter((r, i) => r.name !== order(i + 1).name || r.amount !== order(i + 1).amount)).toEqual(
      [],
    );
  }, 180_000);
});
