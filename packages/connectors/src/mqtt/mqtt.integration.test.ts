import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Row, type RunEvent, runPipeline } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { openSink, readSource } from '../../test/harness.ts';
import { collect, fresh, MQTT_URL, primeSession, publish } from '../../test/mqtt.ts';
import { createRegistry } from '../registry.ts';
import { sendId } from '../shared/send-ids.ts';
import { mqttSink } from './sink.ts';
import { mqttSource } from './source.ts';

// Against the Mosquitto broker on this machine (127.0.0.1:1883), MQTT 5, persistent sessions.
const dir = mkdtempSync(join(tmpdir(), 'sluice-mqtt-'));
let runs = 0;

const ndjson = (file: string): Row[] =>
  readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Row);

/** What the session still holds for `clientId`: a read that ends after half a second of quiet. */
const leftIn = async (clientId: string, topic: string) =>
  (
    await readSource(mqttSource, {
      url: MQTT_URL,
      topics: [topic],
      clientId,
      meta: false,
      stopAfter: { idleSeconds: 0.5 },
    })
  ).rows;

describe('mqtt source in a flow', () => {
  it('reads every message of its session, acknowledging each once its row is committed', async () => {
    const { topic, clientId } = fresh('flow');
    await primeSession(clientId, topic);
    await publish(
      topic,
      Array.from({ length: 300 }, (_, i) => ({ id: i + 1 })),
    );
    const report = await runPipeline(
      {
        name: `mqtt-${++runs}`,
        flow: [
          {
            source: 'mqtt',
            with: { url: MQTT_URL, topics: [topic], clientId, window: 50, stopAfter: { messages: 300 } },
          },
          { sink: 'ndjson', with: { path: 'flow.ndjson' } },
        ],
      },
      { registry: createRegistry(), stateDir: join(dir, `s${runs}`), baseDir: dir },
    );
    expect(report.status).toBe('success');
    const rows = ndjson('flow.ndjson');
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(rows[0]!._meta).toMatchObject({ subject: topic, qos: 1, redelivered: false });
    expect(await leftIn(clientId, topic)).toEqual([]);
  });

  it('gets again, marked redelivered, the messages a run read but never acknowledged', async () => {
    const { topic, clientId } = fresh('again');
    await primeSession(clientId, topic);
    await publish(topic, [{ id: 1 }, { id: 2 }, { id: 3 }]);
    const config = { url: MQTT_URL, topics: [topic], clientId, stopAfter: { messages: 3 } };
    // Read as by a run killed before its checkpoint: nothing acknowledged.
    const first = await readSource(mqttSource, config, { acknowledge: false });
    expect(first.rows.map((r) => r.id)).toEqual([1, 2, 3]);
    const second = await readSource(mqttSource, config);
    expect(second.rows.map((r) => [r.id, (r._meta as { redelivered: boolean }).redelivered])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);
    expect(await leftIn(clientId, topic)).toEqual([]);
  });

  it('at QoS 2 holds each PUBREC until its row is committed: unacknowledged messages come again, once', async () => {
    const { topic, clientId } = fresh('qos2');
    await primeSession(clientId, topic, 2);
    await publish(topic, [{ id: 1 }, { id: 2 }, { id: 3 }], 2);
    const config = { url: MQTT_URL, topics: [topic], clientId, qos: 2, stopAfter: { messages: 3 } };
    const first = await readSource(mqttSource, config, { acknowledge: false });
    expect(first.rows.map((r) => [r.id, (r._meta as { qos: number }).qos])).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
    const second = await readSource(mqttSource, config);
    expect(second.rows.map((r) => [r.id, (r._meta as { redelivered: boolean }).redelivered])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);
    // Acknowledged (PUBREC, then the broker's PUBREL answered): the session holds none of them.
    expect(await leftIn(clientId, topic)).toEqual([]);
  });

  it('quarantines a body that is not a JSON object, and acknowledges it too', async () => {
    const { topic, clientId } = fresh('bad');
    await primeSession(clientId, topic);
    await publish(topic, [{ id: 1 }, 'not json', { id: 3 }]);
    const r = await readSource(mqttSource, {
      url: MQTT_URL,
      topics: [topic],
      clientId,
      meta: false,
      stopAfter: { messages: 3 },
    });
    expect(r.rows).toEqual([{ id: 1 }, { id: 3 }]);
    expect(r.harness.quarantined).toMatchObject([
      {
        reason: expect.stringMatching(new RegExp(`^message 2 on topic "${topic}": the body is not JSON`)),
        raw: 'not json',
      },
    ]);
    expect(await leftIn(clientId, topic)).toEqual([]);
  });

  it('drains on cancel: what it read is written and acknowledged, the rest stays in the session', async () => {
    // Fewer than Mosquitto keeps for an offline session (max_queued_messages, 1000 by default).
    const { topic, clientId } = fresh('cancel');
    await primeSession(clientId, topic);
    await publish(
      topic,
      Array.from({ length: 900 }, (_, i) => ({ id: i + 1 })),
    );
    const ac = new AbortController();
    const report = await runPipeline(
      {
        name: `mqtt-${++runs}`,
        flow: [
          { source: 'mqtt', with: { url: MQTT_URL, topics: [topic], clientId, meta: false, window: 100 } },
          { sink: 'ndjson', with: { path: 'cancel.ndjson' } },
        ],
      },
      {
        registry: createRegistry(),
        stateDir: join(dir, `s${runs}`),
        baseDir: dir,
        signal: ac.signal,
        onEvent: (e: RunEvent) => {
          if (e.type === 'log' && /^checkpoint 2 committed/.test(e.message))
            ac.abort(new Error('cancelled by the test'));
        },
      },
    );
    expect(report.status).toBe('cancelled');
    const written = ndjson('cancel.ndjson').map((r) => r.id as number);
    expect(written.length).toBeGreaterThanOrEqual(100);
    expect(written.length).toBeLessThan(900);
    const rest = (await leftIn(clientId, topic)).map((r) => r.id as number);
    // Nothing lost, nothing read twice: what was written was acknowledged, the rest came next.
    expect([...written, ...rest].sort((a, b) => a - b)).toEqual(Array.from({ length: 900 }, (_, i) => i + 1));
  });
});

describe('mqtt sink', () => {
  it('publishes by a topic field with ids a resumed run repeats, quarantining a row without a topic', async () => {
    const { topic } = fresh('sink');
    const sub = await collect(topic);
    try {
      const config = { url: MQTT_URL, topicField: 'to', batchSize: 2 };
      const a = await openSink(mqttSink, config);
      await a.writer.start(undefined);
      await a.writer.write([{ id: 1, to: topic }, { id: 0 }]);
      const state = (await a.writer.commit({ seq: 1, position: 1 })) as { nonce: string; sent: number };
      expect(a.harness.quarantined.map((q) => q.reason)).toEqual(['the topic field "to" is missing']);
      await a.writer.write([
        { id: 2, to: topic },
        { id: 3, to: topic },
      ]); // a full batch: published, then the crash
      await a.writer.abort(new Error('crash'));
      const b = await openSink(mqttSink, config);
      await b.writer.start(state);
      await b.writer.write([
        { id: 2, to: topic },
        { id: 3, to: topic },
      ]);
      expect((await b.writer.close()).rowsWritten).toBe(2);
      await sub.settled();
      expect(sub.got.map((m) => JSON.parse(m.payload).id)).toEqual([1, 2, 3, 2, 3]);
      expect(sub.got.map((m) => m.msgid)).toEqual([0, 2, 3, 2, 3].map((n) => sendId(state.nonce, n)));
    } finally {
      await sub.client.endAsync();
    }
  });
});
