import type { JetStreamClient } from '@nats-io/jetstream';
import { type Static, Type } from '@sinclair/typebox';
import { defineSink, ErrorCode, FatalError, type Row, type SinkContext } from '@sluice/core';
import {
  CONTENT_TYPE,
  fieldOr,
  type OutMessage,
  oneDestination,
  QueueWriter,
  queueSinkProperties,
} from '../shared/queue-sink.ts';
import { connect, type NatsClient, NatsCredential, natsConnection, natsError } from './conn.ts';

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'NATS url, e.g. nats://user:password@host:4222 (or a credential holding it).',
    }),
    subject: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'The subject of every message; a JetStream stream must listen on it (see subjectField).',
      }),
    ),
    subjectField: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Take each message's subject from this field of its row instead (a row without it is quarantined).",
      }),
    ),
    ...queueSinkProperties,
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

/**
 * Publishes to JetStream with the message id in `Nats-Msg-Id`: the stream drops a message whose id
 * it saw within its duplicate window (2 minutes by default), so a batch published again by a
 * resumed run lands once. Each batch waits for the stream's acknowledgement of every message; one
 * acknowledged as a duplicate was stored before, so it counts as delivered.
 */
class NatsWriter extends QueueWriter<Config> {
  readonly #c: NatsClient;
  readonly #js: JetStreamClient;
  readonly #headers: typeof import('@nats-io/transport-node').headers;
  /** Messages the stream dropped as duplicates of ones it already held (for the log). */
  #duplicates = 0;

  constructor(
    ctx: SinkContext<Config>,
    c: NatsClient,
    js: JetStreamClient,
    headers: typeof import('@nats-io/transport-node').headers,
  ) {
    super(ctx);
    this.#c = c;
    this.#js = js;
    this.#headers = headers;
  }

  protected destination(row: Row) {
    return fieldOr(row, this.ctx.config.subject, this.ctx.config.subjectField, 'subject');
  }

  protected location(): string {
    const { subject } = this.ctx.config;
    return `${this.#c.target.url}${subject ? ` subject ${subject}` : ''}`;
  }

  protected async end(): Promise<void> {
    if (this.#duplicates > 0)
      this.ctx.log.info(
        `${this.#duplicates} message(s) were already in the stream (published before a resume): stored once`,
      );
    await this.#c.nc.close().catch(() => undefined);
  }

  protected async publish(messages: OutMessage[]): Promise<void> {
    const where = this.ctx.componentId;
    const type = CONTENT_TYPE[this.ctx.config.format];
    const acks = await Promise.allSettled(
      messages.map((m) => {
        const h = this.#headers();
        h.set('Content-Type', type);
        return this.#js.publish(m.to, m.body, { msgID: m.id, headers: h });
      }),
    );
    const failed = acks.findIndex((a) => a.status === 'rejected');
    if (failed >= 0) {
      const err = (acks[failed] as PromiseRejectedResult).reason as Error;
      const subject = messages[failed]!.to;
      // No stream listens on the subject: the request finds no responder, which the client
      // reports as JetStream not being enabled (the server's own info says whether it is).
      if (err.name === 'JetStreamNotEnabled' && this.#c.nc.info?.jetstream === true)
        throw noStream(where, this.#c, subject, err);
      throw natsError(err, where, this.#c.target, `publish ${messages.length} messages to "${subject}"`);
    }
    for (const a of acks)
      if ((a as PromiseFulfilledResult<{ duplicate: boolean }>).value.duplicate) this.#duplicates++;
  }
}

function noStream(where: string, c: NatsClient, subject: string, cause?: unknown): FatalError {
  return new FatalError(
    `${where}: no JetStream stream on NATS at ${c.target.address} listens on subject "${subject}" — ` +
      'create one whose subjects match it (nats stream add), or check subject/subjectField',
    { code: ErrorCode.NOT_FOUND, cause },
  );
}

export const natsSink = defineSink({
  name: 'nats',
  version: '1.0.0',
  summary:
    'Publishes rows to NATS JetStream with a message id the stream de-duplicates by, each batch acknowledged before a checkpoint.',
  config: Config,
  credentialSchema: NatsCredential,
  connection: natsConnection,
  example: {
    url: 'nats://localhost:4222',
    subject: 'orders.created',
    format: 'json',
    batchSize: 500,
    verify: 'count',
  },
  check: (cfg) => oneDestination(cfg, 'subject', 'subjectField'),
  async open(ctx) {
    const { headers } = await import('@nats-io/transport-node');
    const { jetstream, jetstreamManager } = await import('@nats-io/jetstream');
    const c = await connect(ctx.config.url, { where: ctx.componentId, guard: ctx.guardConnect, net: ctx });
    try {
      const jsm = await jetstreamManager(c.nc).catch((err: unknown) => {
        throw natsError(err, ctx.componentId, c.target, 'open JetStream');
      });
      const subject = ctx.config.subject;
      // A fixed subject is checked now, before any row is written; a subject from a field, as it comes.
      if (subject !== undefined)
        await jsm.streams.find(subject).catch((err: unknown) => {
          throw (err as Error).name === 'StreamNotFoundError'
            ? noStream(ctx.componentId, c, subject, err)
            : natsError(err, ctx.componentId, c.target, `find the stream of subject "${subject}"`);
        });
      return new NatsWriter(ctx, c, jetstream(c.nc), headers);
    } catch (err) {
      await c.nc.close().catch(() => undefined);
      throw err;
    }
  },
});
