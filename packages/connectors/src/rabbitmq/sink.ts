import { type Static, Type } from '@sinclair/typebox';
import { defineSink, ErrorCode, FatalError, type Row, type SinkContext } from '@sluice/core';
import type { ConfirmChannel, Message } from 'amqplib';
import {
  CONTENT_TYPE,
  fieldOr,
  type OutMessage,
  QueueWriter,
  queueSinkProperties,
} from '../shared/queue-sink.ts';
import { type AmqpConnection, AmqpCredential, amqpConnection, amqpError, connect } from './conn.ts';

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'RabbitMQ url, e.g. amqp://user:password@host:5672/vhost (or a credential holding it).',
    }),
    exchange: Type.String({
      default: '',
      description:
        'The exchange to publish to; "" is the default exchange, which routes to the queue named by the routing key.',
    }),
    routingKey: Type.String({
      default: '',
      description: 'The routing key of every message (see routingKeyField).',
    }),
    routingKeyField: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Take each message's routing key from this field of its row instead (a row without it is quarantined).",
      }),
    ),
    persistent: Type.Boolean({
      default: true,
      description:
        'Persistent messages (delivery mode 2): a durable queue keeps them across a broker restart.',
    }),
    ...queueSinkProperties,
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

/**
 * Publishes on a confirm channel, `mandatory`: each batch waits for the broker's confirms, and a
 * message no queue would receive fails the step instead of vanishing.
 */
class RabbitWriter extends QueueWriter<Config> {
  readonly #c: AmqpConnection;
  readonly #channel: ConfirmChannel;
  /** Messages the broker returned as unroutable, since the last confirmation. */
  #returned: Message[] = [];

  constructor(ctx: SinkContext<Config>, c: AmqpConnection, channel: ConfirmChannel) {
    super(ctx);
    this.#c = c;
    this.#channel = channel;
    channel.on('return', (m: Message) => this.#returned.push(m));
  }

  protected destination(row: Row) {
    return fieldOr(row, this.ctx.config.routingKey, this.ctx.config.routingKeyField, 'routing key');
  }

  protected location(): string {
    const { exchange, routingKey, routingKeyField } = this.ctx.config;
    return `${this.#c.target.url} exchange "${exchange}"${routingKeyField ? '' : ` key "${routingKey}"`}`;
  }

  protected async end(): Promise<void> {
    await this.#channel.close().catch(() => undefined);
    await this.#c.model.close().catch(() => undefined);
  }

  protected async publish(messages: OutMessage[]): Promise<void> {
    const cfg = this.ctx.config;
    const where = this.ctx.componentId;
    for (const m of messages) {
      const fits = this.#channel.publish(cfg.exchange, m.to, m.body, {
        persistent: cfg.persistent,
        mandatory: true,
        messageId: m.id,
        contentType: CONTENT_TYPE[cfg.format],
        timestamp: Math.floor(Date.now() / 1000),
      });
      if (!fits) await new Promise((resolve) => this.#channel.once('drain', resolve));
    }
    try {
      await this.#channel.waitForConfirms();
    } catch (err) {
      throw amqpError(err, where, this.#c.target, `have ${messages.length} messages confirmed`);
    }
    // A return comes before the confirmation of its message: all of them are here by now.
    if (this.#returned.length > 0) {
      const first = this.#returned[0]!;
      throw new FatalError(
        `${where}: ${this.#returned.length} message(s) could not be routed: exchange "${first.fields.exchange}" has no ` +
          `queue bound for routing key "${first.fields.routingKey}" — bind a queue, or check exchange and routingKey`,
        { code: ErrorCode.CONFIG },
      );
    }
  }
}

export const rabbitmqSink = defineSink({
  name: 'rabbitmq',
  version: '1.0.0',
  summary: 'Publishes rows as persistent RabbitMQ messages to an exchange, with publisher confirms.',
  config: Config,
  credentialSchema: AmqpCredential,
  connection: amqpConnection,
  example: {
    url: 'amqp://guest:guest@localhost:5672',
    exchange: 'orders',
    routingKey: 'order.created',
    format: 'json',
    persistent: true,
    batchSize: 500,
    verify: 'count',
  },
  async open(ctx) {
    const c = await connect(ctx.config.url, { where: ctx.componentId, guard: ctx.guardConnect, net: ctx });
    try {
      const channel = await c.model.createConfirmChannel();
      if (ctx.config.exchange !== '')
        await channel.checkExchange(ctx.config.exchange).catch((err: unknown) => {
          throw amqpError(err, ctx.componentId, c.target, `find exchange "${ctx.config.exchange}"`);
        });
      return new RabbitWriter(ctx, c, channel);
    } catch (err) {
      await c.model.close().catch(() => undefined);
      throw err;
    }
  },
});
