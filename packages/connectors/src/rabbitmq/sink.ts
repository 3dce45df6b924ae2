import { type Static, Type } from '@sinclair/typebox';
import {
  defineSink,
  ErrorCode,
  FatalError,
  type Json,
  type Row,
  type SinkContext,
  type SinkResult,
  type SinkWriter,
} from '@sluice/core';
import type { ConfirmChannel, Message } from 'amqplib';
import { freshSendState, type SendState, sendId, sendStateFrom } from '../shared/send-ids.ts';
import { rowBody } from '../shared/stream-options.ts';
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
    format: Type.Union([Type.Literal('json'), Type.Literal('text'), Type.Literal('bytes')], {
      default: 'json',
      description:
        "json: the row as a JSON object; text: the row's `body` field as UTF-8; bytes: the row's `body` field, base64, decoded.",
    }),
    persistent: Type.Boolean({
      default: true,
      description:
        'Persistent messages (delivery mode 2): a durable queue keeps them across a broker restart.',
    }),
    messageIdField: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Each message's id from this field of its row; by default an id derived from the run and the message's " +
          'number, the same when a resumed run publishes it again.',
      }),
    ),
    batchSize: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 500,
      description: 'Rows published together; the broker confirms each batch before the next checkpoint.',
    }),
    verify: Type.Unsafe<'count'>({
      type: 'string',
      enum: ['count'],
      default: 'count',
      description:
        'count: the messages the broker confirmed (publisher confirms) are compared with the rows handed to the ' +
        'sink, less those quarantined. A message once consumed cannot be read back.',
    }),
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

/**
 * Publishes rows as messages on a confirm channel. Rows wait until a batch is full or a checkpoint
 * comes, so a cancel before the first checkpoint publishes nothing; a crash after publishing and
 * before the checkpoint publishes those rows again on resume, each under the id it had (SendState):
 * at-least-once delivery whose duplicates a consumer can drop by message id.
 */
class RabbitWriter implements SinkWriter {
  readonly #ctx: SinkContext<Config>;
  readonly #c: AmqpConnection;
  readonly #channel: ConfirmChannel;
  #state: SendState = { nonce: '', sent: 0 };
  #pending: Row[] = [];
  #handed = 0;
  #confirmed = 0;
  #refused = 0;
  /** Messages the broker returned as unroutable (mandatory), since the last confirmation. */
  #returned: Message[] = [];

  constructor(ctx: SinkContext<Config>, c: AmqpConnection, channel: ConfirmChannel) {
    this.#ctx = ctx;
    this.#c = c;
    this.#channel = channel;
    channel.on('return', (m: Message) => this.#returned.push(m));
  }

  async start(resume: Json | undefined): Promise<void> {
    this.#state = resume === undefined ? freshSendState() : sendStateFrom(resume, this.#ctx.componentId);
  }

  /** Nothing published is ever taken back: a replay's rows are published after the others. */
  async startAppend(resume: Json | undefined): Promise<void> {
    await this.start(resume);
  }

  async write(rows: Row[]): Promise<void> {
    this.#ctx.signal.throwIfAborted();
    for (const row of rows) this.#pending.push(row);
    while (this.#pending.length >= this.#ctx.config.batchSize)
      await this.#publish(this.#pending.splice(0, this.#ctx.config.batchSize));
  }

  async flush(): Promise<void> {
    const rows = this.#pending;
    this.#pending = [];
    if (rows.length > 0) await this.#publish(rows);
  }

  async commit(): Promise<Json> {
    await this.flush();
    return { ...this.#state };
  }

  async close(): Promise<SinkResult> {
    await this.flush();
    await this.#end();
    const { exchange, routingKey } = this.#ctx.config;
    return {
      rowsWritten: this.#confirmed,
      location: `${this.#c.target.url} exchange "${exchange}"${this.#ctx.config.routingKeyField ? '' : ` key "${routingKey}"`}`,
      verification: { level: 'count', rowsHanded: this.#handed - this.#refused, rowsFound: this.#confirmed },
    };
  }

  async abort(): Promise<void> {
    // Rows held back were never published; the resumed run publishes them from the checkpoint.
    this.#pending = [];
    await this.#end();
  }

  async #end(): Promise<void> {
    await this.#channel.close().catch(() => undefined);
    await this.#c.model.close().catch(() => undefined);
  }

  /** Publishes `rows` and waits until the broker confirmed every message (or fails the step). */
  async #publish(rows: Row[]): Promise<void> {
    const cfg = this.#ctx.config;
    const where = this.#ctx.componentId;
    let published = 0;
    for (const row of rows) {
      this.#handed++;
      const body = rowBody(row, cfg.format, this.#handed - 1, where);
      const key = cfg.routingKeyField === undefined ? cfg.routingKey : row[cfg.routingKeyField];
      const id =
        cfg.messageIdField === undefined
          ? sendId(this.#state.nonce, this.#state.sent)
          : row[cfg.messageIdField];
      const reason =
        'reason' in body
          ? body.reason
          : typeof key !== 'string'
            ? `the routing key field "${cfg.routingKeyField}" is ${key === undefined ? 'missing' : `a ${typeof key}, not text`}`
            : id === undefined || id === null
              ? `the message id field "${cfg.messageIdField}" is missing`
              : undefined;
      // Every row takes a number, published or not, so ids stay the same on a resume.
      this.#state.sent++;
      if (reason !== undefined) {
        this.#ctx.quarantine({ reason, row });
        this.#refused++;
        continue;
      }
      const fits = this.#channel.publish(cfg.exchange, key as string, body as Buffer, {
        persistent: cfg.persistent,
        mandatory: true,
        messageId: String(id),
        contentType:
          cfg.format === 'json'
            ? 'application/json'
            : cfg.format === 'text'
              ? 'text/plain'
              : 'application/octet-stream',
        timestamp: Math.floor(Date.now() / 1000),
      });
      published++;
      if (!fits) await new Promise((resolve) => this.#channel.once('drain', resolve));
    }
    try {
      await this.#channel.waitForConfirms();
    } catch (err) {
      throw amqpError(err, where, this.#c.target, `have ${published} messages confirmed`);
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
    this.#confirmed += published;
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
