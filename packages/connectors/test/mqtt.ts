import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';

/** The Mosquitto broker the tests use (`.ci/run` requires it). */
export const MQTT_URL = process.env.SLUICE_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

/** A topic and a client id of their own for one test. */
export function fresh(tag = 't'): { topic: string; clientId: string } {
  const id = randomUUID().slice(0, 8);
  return { topic: `sluice-test/${tag}/${id}`, clientId: `sluice-test-${tag}-${id}` };
}

/**
 * Makes the persistent session `clientId` subscribed to `topic`, then leaves it: the broker keeps
 * what is published to the topic for that session until a source connects as it.
 */
export async function primeSession(clientId: string, topic: string, qos: 1 | 2 = 1): Promise<void> {
  const c = await mqtt.connectAsync(MQTT_URL, {
    clientId,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 600 },
  });
  await c.subscribeAsync(topic, { qos });
  await c.endAsync();
}

/** Publishes each body (objects as JSON) at QoS 1 (or 2), each acknowledged by the broker. */
export async function publish(topic: string, bodies: (object | string)[], qos: 1 | 2 = 1): Promise<void> {
  const c = await mqtt.connectAsync(MQTT_URL, { protocolVersion: 5 });
  try {
    for (const b of bodies)
      await c.publishAsync(topic, typeof b === 'string' ? b : JSON.stringify(b), { qos });
  } finally {
    await c.endAsync();
  }
}

/** A subscriber collecting what arrives on `topic`, for reading a sink's messages back. */
export async function collect(topic: string): Promise<{
  client: MqttClient;
  got: { payload: string; msgid: unknown }[];
  settled(): Promise<void>;
}> {
  const client = await mqtt.connectAsync(MQTT_URL, { protocolVersion: 5 });
  const got: { payload: string; msgid: unknown }[] = [];
  let last = Date.now();
  client.on('message', (_t, payload, packet) => {
    got.push({ payload: payload.toString(), msgid: packet.properties?.userProperties?.msgid });
    last = Date.now();
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return {
    client,
    got,
    // Until nothing came for 200 ms: QoS 1 deliveries trail the publisher's acknowledgements.
    async settled() {
      while (Date.now() - last < 200) await new Promise((r) => setTimeout(r, 50));
    },
  };
}
