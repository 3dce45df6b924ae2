import { createHash, randomUUID } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import {
  defineSource,
  ErrorCode,
  FatalError,
  type Json,
  RetryableError,
  type Row,
  type SourceContext,
} from '@sluice/core';
import type { IPublishPacket } from 'mqtt';
import { MessageInbox } from '../shared/message-inbox.ts';
import {
  BATCH_WAIT_MS,
  bodyRow,
  flowHooks,
  StopAfter,
  stopAfterIssues,
  streamSourceProperties,
} from '../shared/stream-options.ts';
import { connect, MqttCredential, mqttConnection, mqttError } from './conn.ts';
import { HeldAcks } from './held-acks.ts';

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'MQTT broker url, e.g. mqtt://user:password@host:1883 (or a credential holding it).',
    }),
    topics: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: 'Topic filters to subscribe to; `+` and `#` wildcards as MQTT has them.',
      examples: [['sensors/+/temperature']],
    }),
    qos: Type.Union([Type.Literal(1), Type.Literal(2)], {
      default: 1,
      description:
        'The subscription QoS. Messages published at QoS 0 arrive at QoS 0 and are never acknowledged or sent again.',
    }),
    clientId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description:
          "The session's client id: the broker keeps the session's subscriptions and unacknowledged messages under " +
          'it between runs. Default: derived from the url, the topics and the step; give one when two pipelines read the same topics.',
      }),
    ),
    sessionExpirySeconds: Type.Integer({
      minimum: 0,
      default: 604_800,
      description:
        'How long the broker keeps the session (and the messages for it) while no run is connected.',
    }),
    window: Type.Integer({
      minimum: 1,
      maximum: 65_535,
      default: 100,
      description:
        'Most messages delivered and not yet acknowledged (the Receive Maximum the client announces); a full window asks for a checkpoint.',
    }),
    ...streamSourceProperties,
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

interface Message {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/** Where a run got to: its session (acknowledgements are counted per connection) and how many it owes. */
interface Position {
  run: string;
  acks: number;
}

function clientIdOf(ctx: SourceContext<Config>): string {
  const cfg = ctx.config;
  if (cfg.clientId !== undefined) return cfg.clientId;
  const u = new URL(cfg.url);
  const key = `${u.host}|${[...cfg.topics].sort().join(',')}|${ctx.componentId}`;
  return `sluice-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

async function* read(ctx: SourceContext<Config>) {
  const cfg = ctx.config;
  const flow = flowHooks(ctx);
  const inbox = new MessageInbox<Message>();
  let acks!: HeldAcks;
  const { client, target } = await connect(cfg.url, {
    where: ctx.componentId,
    guard: ctx.guardConnect,
    net: ctx,
    client: {
      clientId: clientIdOf(ctx),
      clean: false,
      properties: { sessionExpiryInterval: cfg.sessionExpirySeconds, receiveMaximum: cfg.window },
    },
    prepare(c) {
      acks = new HeldAcks(c);
      c.on('message', (topic, payload, packet) => {
        if (packet.qos !== 2) inbox.push({ topic, payload, packet });
      });
      // mqtt.js emits a QoS 2 message only once the broker answered its PUBREC with a PUBREL, and
      // that PUBREC is held until the message's row is committed: the message is taken from its
      // PUBLISH instead. A crash before the PUBREC goes makes the broker send the PUBLISH again.
      c.on('packetreceive', (packet) => {
        if (packet.cmd === 'publish' && packet.qos === 2)
          inbox.push({ topic: packet.topic, payload: packet.payload as Buffer, packet });
      });
    },
  });
  client.on('close', () =>
    inbox.fail(
      new RetryableError(`${ctx.componentId}: lost the connection to the MQTT broker at ${target.address}`),
    ),
  );
  const self = randomUUID();
  let released = 0;
  flow.register({
    async commit(position: Json) {
      const p = position as unknown as Position;
      if (p?.run !== self || p.acks <= released) return;
      acks.release(p.acks);
      released = p.acks;
    },
    async close() {
      await client.endAsync().catch(() => undefined);
    },
  });
  try {
    const granted = await client.subscribeAsync(cfg.topics, { qos: cfg.qos });
    const refused = granted.filter((g) => g.qos >= 128);
    if (refused.length > 0)
      throw new FatalError(
        `${ctx.componentId}: the MQTT broker at ${target.address} refused the subscription to ${refused.map((g) => `"${g.topic}"`).join(', ')} (reason ${refused[0]!.qos}) — check the topic filters and the broker's ACL`,
        { code: ErrorCode.CONFIG },
      );
  } catch (err) {
    await client.endAsync().catch(() => undefined);
    throw err instanceof FatalError ? err : mqttError(err, ctx.componentId, target, 'subscribe');
  }
  ctx.setOrigin(`${target.url} ${cfg.topics.join(', ')}`);

  const stopAfter = new StopAfter(cfg.stopAfter);
  let read = 0;
  let owed = 0;
  let position: Position = { run: self, acks: 0 };
  while (!flow.stop.aborted && !stopAfter.done) {
    const messages = await inbox.take(Math.min(cfg.batchSize, stopAfter.room), BATCH_WAIT_MS, [
      ctx.signal,
      flow.stop,
    ]);
    ctx.signal.throwIfAborted();
    stopAfter.took(messages.length);
    // A broker that went quiet while acknowledgements are owed may be waiting for them (its
    // in-flight limit can be below the window): checkpoint now rather than at the interval.
    if (messages.length === 0) {
      yield { rows: [], position: position as unknown as Json, checkpoint: owed > released };
      continue;
    }
    const rows: Row[] = [];
    for (const m of messages) {
      read++;
      if (m.packet.qos > 0) owed++;
      const meta = {
        id: null,
        subject: m.topic,
        timestamp: null,
        redelivered: m.packet.dup === true,
        headers: (m.packet.properties?.userProperties ?? {}) as Record<string, unknown>,
        qos: m.packet.qos,
        retain: m.packet.retain === true,
      };
      const made = bodyRow(m.payload, cfg, meta);
      if ('row' in made) rows.push(made.row);
      else
        ctx.quarantine({
          reason: `message ${read} on topic "${m.topic}": ${made.reason}`,
          raw: m.payload.subarray(0, 4096).toString('utf8'),
        });
    }
    position = { run: self, acks: owed };
    yield { rows, position: position as unknown as Json, checkpoint: owed - released >= cfg.window };
  }
}

export const mqttSource = defineSource({
  name: 'mqtt',
  version: '1.0.0',
  summary:
    'Subscribes to MQTT topics in a persistent session (QoS 1 or 2); each message is acknowledged once its row is committed.',
  streaming: true,
  config: Config,
  credentialSchema: MqttCredential,
  connection: mqttConnection,
  example: {
    url: 'mqtt://localhost:1883',
    topics: ['sensors/+/temperature'],
    qos: 1,
    sessionExpirySeconds: 604_800,
    window: 100,
    format: 'json',
    meta: true,
    batchSize: 500,
  },
  check: (cfg) => stopAfterIssues(cfg),
  read,
});
