import { afterAll } from 'vitest';
import { mqttSink, mqttSource } from '../src/index.ts';
import { sinkConformance, sourceConformance } from './conformance.ts';
import { collect, fresh, MQTT_URL, primeSession, publish } from './mqtt.ts';

// Against the Mosquitto broker on this machine: each case has a topic and a session of its own.
const SECRET = 'conformance-mqtt-s3cret';
const sample = [
  { id: 1, name: 'Ana', note: 'tab\there' },
  { id: 2, name: 'Bruno', note: "it's" },
  { id: 3, name: 'Cé', note: null },
  { id: 4, name: 'Dora', note: 'new\nline' },
];

sourceConformance('mqtt', {
  def: mqttSource,
  resumable: false,
  badConfig: { url: MQTT_URL, topics: [] },
  badPath: 'with.topics',
  // A port nothing listens on: the password must not show in the refusal.
  secret: { secret: SECRET, config: () => ({ url: `mqtt://etl:${SECRET}@127.0.0.1:1`, topics: ['x'] }) },
  sample,
  async setup(rows) {
    const { topic, clientId } = fresh('src');
    await primeSession(clientId, topic);
    await publish(topic, rows);
    return { url: MQTT_URL, topics: [topic], clientId, meta: false, stopAfter: { idleSeconds: 0.5 } };
  },
});

const collectors = new Map<string, Awaited<ReturnType<typeof collect>>>();
afterAll(async () => {
  for (const c of collectors.values()) await c.client.endAsync();
});

sinkConformance('mqtt', {
  def: mqttSink,
  badConfig: { url: MQTT_URL, topic: 't', qos: 3 },
  badPath: 'with.qos',
  resumable: true,
  secret: { secret: SECRET, config: () => ({ url: `mqtt://etl:${SECRET}@127.0.0.1:1`, topic: 't' }) },
  sample,
  async setup() {
    const { topic } = fresh('sink');
    collectors.set(topic, await collect(topic));
    return { url: MQTT_URL, topic };
  },
  async readBack(config) {
    const c = collectors.get(config.topic as string)!;
    await c.settled();
    return c.got.map((m) => JSON.parse(m.payload));
  },
});
