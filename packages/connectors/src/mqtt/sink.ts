import { type Static, Type } from '@sinclair/typebox';
import { defineSink, type Row, type SinkContext } from '@sluice/core';
import type { MqttClient } from 'mqtt';
import {
  CONTENT_TYPE,
  fieldOr,
  type OutMessage,
  oneDestination,
  QueueWriter,
  queueSinkProperties,
} from '../shared/queue-sink.ts';
import { connect, MqttCredential, type MqttTarget, mqttConnection, mqttError } from './conn.ts';

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'MQTT broker url, e.g. mqtt://user:password@host:1883 (or a credential holding it).',
    }),
    topic: Type.Optional(
      Type.String({ minLength: 1, description: 'The topic of every message (see topicField).' }),
    ),
    topicField: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Each message's topic from this field of its row (a row without it is quarantined).",
      }),
    ),
    qos: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)], {
      default: 1,
      description:
        'QoS of every message; with 1 or 2 the broker acknowledges each before the next checkpoint.',
    }),
    retain: Type.Boolean({
      default: false,
      description: 'Publish retained messages (the broker keeps the last one per topic).',
    }),
    ...queueSinkProperties,
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

/** Publishes each message with its id as the `msgid` user property (MQTT 5 has no message id of its own). */
class MqttWriter extends QueueWriter<Config> {
  readonly #client: MqttClient;
  readonly #target: MqttTarget;

  constructor(ctx: SinkContext<Config>, client: MqttClient, target: MqttTarget) {
    super(ctx);
    this.#client = client;
    this.#target = target;
  }

  protected destination(row: Row) {
    return fieldOr(row, this.ctx.config.topic, this.ctx.config.topicField, 'topic');
  }

  protected location(): string {
    const { topic } = this.ctx.config;
    return `${this.#target.url}${topic ? ` topic ${topic}` : ''}`;
  }

  protected async end(hard: boolean): Promise<void> {
    await this.#client.endAsync(hard).catch(() => undefined);
  }

  protected async publish(messages: OutMessage[]): Promise<void> {
    const cfg = this.ctx.config;
    try {
      await Promise.all(
        messages.map((m) =>
          this.#client.publishAsync(m.to, m.body, {
            qos: cfg.qos,
            retain: cfg.retain,
            properties: { userProperties: { msgid: m.id }, contentType: CONTENT_TYPE[cfg.format] },
          }),
        ),
      );
    } catch (err) {
      throw mqttError(err, this.ctx.componentId, this.#target, `publish ${messages.length} messages`);
    }
  }
}

export const mqttSink = defineSink({
  name: 'mqtt',
  version: '1.0.0',
  summary:
    'Publishes rows as MQTT messages (QoS 0, 1 or 2, retained or not), each batch acknowledged before a checkpoint.',
  config: Config,
  credentialSchema: MqttCredential,
  connection: mqttConnection,
  example: {
    url: 'mqtt://localhost:1883',
    topic: 'orders/created',
    qos: 1,
    retain: false,
    format: 'json',
    batchSize: 500,
    verify: 'count',
  },
  check: (cfg) => oneDestination(cfg, 'topic', 'topicField'),
  async open(ctx) {
    // A throwaway session: a publisher has nothing for the broker to keep between runs.
    const { client, target } = await connect(ctx.config.url, {
      where: ctx.componentId,
      guard: ctx.guardConnect,
      net: ctx,
      client: { clean: true },
    });
    return new MqttWriter(ctx, client, target);
  },
});
