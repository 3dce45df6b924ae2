import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sluice } from './conformance-cli.ts';
import { consumerState, freshStream, NATS_URL, publish } from './nats.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL } from './pg-schema.ts';

// The chaos test for NATS JetStream, as stream-chaos.integration.test.ts does it for
// RabbitMQ and MQTT: `sluice run` SIGKILLed five times at different moments and resumed each time.
// A killed run's unacknowledged messages come again once `ackWait` has passed (a kill gives
// nothing back), to the resumed run; the upsert on the message's id keeps each once.
const N = 5000;
const db = freshSchemaPerTest();
const order = (i: number) => ({ id: i, name: `order ${i}, "quoted"`, amount: (i * 7) % 1000 });

describe('a NATS stream killed five times', () => {
  it('NATS → PostgreSQL upsert: every message exactly once in the table, none left unacknowledged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-chaos-nats-'));
    const { stream, prefix } = await freshStream('chaos');
    await publish(
      `${prefix}.orders`,
      Array.from({ length: N }, (_, i) => order(i + 1)),
      false,
    );
    const table = `${db.schema}.orders`;
    await db.admin.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, name text, amount integer)`);
    const spec = join(dir, 'chaos.yaml');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'chaos-nats',
        retry: { attempts: 1 },
        flow: [
          {
            source: 'nats',
            with: {
              url: NATS_URL,
              stream,
              consumer: 'chaos',
              // Short, so a killed run's messages come back soon; a window of 50 checkpoints
              // every 50 messages, far sooner than ackWait.
              ackWait: '3s',
              maxAckPending: 50,
              batchSize: 25,
              meta: false,
              // Longer than ackWait: the last kill's messages come back before the run ends.
              stopAfter: { idleSeconds: 5 },
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
    const kills = [3, { afterMs: 700 }, 2, { afterMs: 1200 }, 4];
    for (const [i, killAt] of kills.entries()) {
      const run = await sluice(dir, i === 0 ? [spec] : [spec, '--resume'], killAt);
      expect(run.signal, `run ${i + 1} must be killed (code ${run.code}, ${run.stderr.slice(-500)})`).toBe(
        'SIGKILL',
      );
    }
    const done = await sluice(dir, [spec, '--resume']);
    expect(done.code, done.stderr.slice(-2000)).toBe(0);
    expect(done.report?.status).toBe('success');

    const { rows } = await db.admin.query<{ id: string; name: string; amount: number }>(
      `SELECT id, name, amount FROM ${table} ORDER BY id`,
    );
    expect(rows.length).toBe(N);
    const wrong = rows.filter((r, i) => {
      const want = order(i + 1);
      return Number(r.id) !== want.id || r.name !== want.name || r.amount !== want.amount;
    });
    expect(wrong).toEqual([]);
    // Every message acknowledged: none waiting, none delivered and unacknowledged.
    expect(await consumerState(stream, 'chaos')).toMatchObject({ waiting: 0, unacknowledged: 0 });
  }, 240_000);
});
