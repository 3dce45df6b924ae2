import { randomUUID } from 'node:crypto';
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
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import { MessageInbox } from '../shared/message-inbox.ts';
import {
  BATCH_WAIT_MS,
  bodyRow,
  flowHooks,
  StopAfter,
  stopAfterIssues,
  streamSourceProperties,
} from '../shared/stream-options.ts';
import { AmqpCredential, amqpConnection, amqpError, connect } from './conn.ts';

/** How often the source asks the broker how many messages wait (its lag). */
const LAG_EVERY_MS = 2000;

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'RabbitMQ url, e.g. amqp://user:password@host:5672/vhost (or a credential holding it).',
    }),
    queue: Type.String({ minLength: 1, description: 'The queue to consume.' }),
    declare: Type.Boolean({
      default: false,
      description:
        'Declare the queue (durable) when it does not exist; otherwise a missing queue fails the step.',
    }),
    prefetch: Type.Integer({
      minimum: 1,
      maximum: 65_535,
      default: 2000,
      description:
        'Most messages delivered and not yet acknowledged. Messages are acknowledged only after the ' +
        'checkpoint that holds their rows, and a full window asks for that checkpoint at once.',
    }),
    ...streamSourceProperties,
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

/** Where a run got to: the channel it read on (tags are per channel), the last tag, messages read. */
interface Position {
  channel: string;
  tag: number;
  read: number;
}

async function* read(ctx: SourceContext<Config>) {
  const cfg = ctx.config;
  const flow = flowHooks(ctx);
  const { model, target } = await connect(cfg.url, {
    where: ctx.componentId,
    guard: ctx.guardConnect,
    net: ctx,
  });
  const where = (doing: string) => (err: unknown) => {
    throw amqpError(err, ctx.componentId, target, doing);
  };
  const inbox = new MessageInbox<ConsumeMessage>();
  let channel: Channel;
  try {
    channel = await model.createChannel().catch(where('open a channel'));
    await channel.prefetch(cfg.prefetch);
    if (cfg.declare)
      await channel.assertQueue(cfg.queue, { durable: true }).catch(where(`declare queue "${cfg.queue}"`));
    else await channel.checkQueue(cfg.queue).catch(where(`find queue "${cfg.queue}"`));
  } catch (err) {
    await model.close().catch(() => undefined);
    throw err;
  }
  const lost = (why: string) =>
    inbox.fail(
      new RetryableError(`${ctx.componentId}: lost the connection to RabbitMQ at ${target.address}: ${why}`),
    );
  model.on('close', (err?: Error) => lost(err?.message ?? 'the connection was closed'));
  channel.on('close', () => lost('the channel was closed'));
  const ch = channel;

  // Acknowledged up to here: `read` of the last committed position (this run's channel only: a
  // position from an earlier run names tags of a channel that is gone, whose messages came again).
  const self = randomUUID();
  let acked = 0;
  flow.register({
    async commit(position: Json) {
      const p = position as unknown as Position;
      if (p?.channel !== self || p.read <= acked) return;
      // Every delivery up to this tag: the rows of all of them are committed or quarantined.
      ch.ack({ fields: { deliveryTag: p.tag } } as Message, true);
      acked = p.read;
    },
    async close() {
      await ch.close().catch(() => undefined);
      await model.close().catch(() => undefined);
    },
  });

  const { consumerTag } = await ch
    .consume(
      cfg.queue,
      (msg) => {
        if (msg === null) {
          inbox.fail(
            new FatalError(
              `${ctx.componentId}: RabbitMQ cancelled the consumer of queue "${cfg.queue}" (was it deleted?)`,
              {
                code: ErrorCode.NOT_FOUND,
              },
            ),
          );
        } else inbox.push(msg);
      },
      { noAck: false },
    )
    .catch(where(`consume queue "${cfg.queue}"`));
  ctx.setOrigin(`${target.url} queue ${cfg.queue}`);

  const stopAfter = new StopAfter(cfg.stopAfter);
  // Messages ready in the queue, asked now and then on the consuming channel, for the lag gauge.
  let lag: number | undefined;
  let lagAskedAt = Number.NEGATIVE_INFINITY;
  const askLag = (): void => {
    if (performance.now() - lagAskedAt < LAG_EVERY_MS) return;
    lagAskedAt = performance.now();
    ch.checkQueue(cfg.queue).then(
      (r) => {
        lag = r.messageCount;
      },
      () => undefined,
    );
  };
  let read = 0;
  let position: Position = { channel: self, tag: 0, read: 0 };
  try {
    while (!flow.stop.aborted && !stopAfter.done) {
      const want = Math.min(cfg.batchSize, stopAfter.room);
      const messages = await inbox.take(want, BATCH_WAIT_MS, [ctx.signal, flow.stop]);
      ctx.signal.throwIfAborted();
      askLag();
      stopAfter.took(messages.length);
      if (messages.length === 0) {
        // Nothing came: the same position, so an idle stream makes no checkpoint.
        yield { rows: [], position: position as unknown as Json, ...(lag === undefined ? {} : { lag }) };
        continue;
      }
      const rows: Row[] = [];
      for (const m of messages) {
        const meta = {
          id: (m.properties.messageId as string | undefined) ?? null,
          subject: m.fields.routingKey,
          exchange: m.fields.exchange,
          timestamp:
            typeof m.properties.timestamp === 'number'
              ? new Date(m.properties.timestamp * 1000).toISOString()
              : null,
          redelivered: m.fields.redelivered,
          headers: (m.properties.headers ?? {}) as Record<string, unknown>,
          deliveryTag: m.fields.deliveryTag,
        };
        const made = bodyRow(m.content, cfg, meta);
        if ('row' in made) rows.push(made.row);
        else
          ctx.quarantine({
            reason: `message ${meta.id ?? `#${read + rows.length + 1}`} (routing key "${meta.subject}"): ${made.reason}`,
            raw: m.content.subarray(0, 4096).toString('utf8'),
          });
      }
      read += messages.length;
      position = { channel: self, tag: messages.at(-1)!.fields.deliveryTag, read };
      // A full window gets no more deliveries until a checkpoint acknowledges some: ask for one.
      yield {
        rows,
        position: position as unknown as Json,
        checkpoint: read - acked >= cfg.prefetch,
        ...(lag === undefined ? {} : { lag }),
      };
    }
  } finally {
    // No more deliveries; the channel stays open for the final acknowledgement (the Acknowledger
    // closes it). Messages delivered and never yielded are requeued when it closes.
    await ch.cancel(consumerTag).catch(() => undefined);
  }
}

export const rabbitmqSource = defineSource({
  name: 'rabbitmq',
  version: '1.0.0',
  summary:
    'Consumes a RabbitMQ queue as a stream; each message is acknowledged once its row is committed (or quarantined).',
  streaming: true,
  config: Config,
  credentialSchema: AmqpCredential,
  connection: amqpConnection,
  example: {
    url: 'amqp://guest:guest@localhost:5672',
    queue: 'orders',
    declare: false,
    prefetch: 2000,
    format: 'json',
    meta: true,
    batchSize: 500,
    stopAfter: { idleSeconds: 10 },
  },
  check: (cfg) => stopAfterIssues(cfg),
  read,
});
