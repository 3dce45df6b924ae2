import { randomUUID } from 'node:crypto';
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { type Static, Type } from '@sinclair/typebox';
import {
  defineSource,
  ErrorCode,
  FatalError,
  type Issue,
  type Json,
  RetryableError,
  type Row,
  type SourceContext,
} from '@sluice/core';
import { MessageInbox } from '../shared/message-inbox.ts';
import {
  BATCH_WAIT_MS,
  bodyRow,
  DURATION_PATTERN,
  flowHooks,
  StopAfter,
  stopAfterIssues,
  streamSourceProperties,
} from '../shared/stream-options.ts';
import { connect, NatsCredential, natsConnection, natsError } from './conn.ts';
import { durableConsumer } from './consumer.ts';

/** How often, at most, the source asks the server how many messages wait for its consumer (its lag). */
const LAG_EVERY_MS = 2000;

/** How long messages given back at close wait before they are delivered again (see close). */
const NAK_DELAY_MS = 1000;

/** A stream's or consumer's name: NATS refuses dots, wildcards, slashes and whitespace in them. */
const NAME = '^[^.*>/\\\\\\s]+$';

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'NATS url, e.g. nats://user:password@host:4222 (or a credential holding it).',
    }),
    stream: Type.String({ minLength: 1, pattern: NAME, description: 'The JetStream stream to read.' }),
    consumer: Type.String({
      minLength: 1,
      pattern: NAME,
      description:
        'The durable pull consumer to read through: the server keeps its place in the stream between runs. Created when it does not exist, with the options below; an existing one keeps its own settings.',
    }),
    deliverPolicy: Type.Union(
      [Type.Literal('all'), Type.Literal('new'), Type.Literal('last'), Type.Literal('by_start_time')],
      {
        default: 'all',
        description:
          'Where a consumer created by the source starts: every message in the stream, only messages published ' +
          'after it is created, the last message, or the first message at or after startTime.',
      },
    ),
    startTime: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'With deliverPolicy by_start_time: the time to start from (ISO 8601).',
      }),
    ),
    filterSubject: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Only messages whose subject matches this (wildcards `*` and `>`), e.g. orders.eu.>',
      }),
    ),
    ackWait: Type.String({
      pattern: DURATION_PATTERN,
      default: '30s',
      description:
        'For a consumer the source creates: how long the server waits for an acknowledgement before it delivers ' +
        'a message again. Keep it well above checkpointInterval, or messages come twice while their rows are written.',
    }),
    maxAckPending: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 1000,
      description:
        'For a consumer the source creates: most messages delivered and not yet acknowledged. Messages are ' +
        'acknowledged only after the checkpoint that holds their rows, and a full window asks for that checkpoint at once.',
    }),
    ...streamSourceProperties,
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

/** Where a run got to: its run id (acknowledgements are per run), messages read, last stream sequence. */
interface Position {
  run: string;
  read: number;
  seq: number;
}

/** The headers of a message as an object: one value as a string, several as an array. */
function headerObject(h: MsgHdrs | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (h === undefined) return out;
  for (const k of h.keys()) {
    const v = h.values(k);
    out[k] = v.length === 1 ? v[0]! : v;
  }
  return out;
}

async function* read(ctx: SourceContext<Config>) {
  const cfg = ctx.config;
  const flow = flowHooks(ctx);
  const { jetstream, jetstreamManager } = await import('@nats-io/jetstream');
  const { nc, target } = await connect(cfg.url, {
    where: ctx.componentId,
    guard: ctx.guardConnect,
    net: ctx,
  });
  const inbox = new MessageInbox<JsMsg>();
  let messages: ConsumerMessages;
  let consumer: Consumer;
  let window: number;
  // Messages waiting for the consumer (num_pending): each message says so when it is delivered;
  // while none come, the consumer's info is asked now and then.
  let lag: number | undefined;
  try {
    const jsm = await jetstreamManager(nc).catch((err: unknown) => {
      throw natsError(err, ctx.componentId, target, 'open JetStream');
    });
    ({ window, pending: lag } = await durableConsumer(jsm, cfg, ctx.componentId, target, ctx.log));
    consumer = await jetstream(nc).consumers.get(cfg.stream, cfg.consumer);
    // Pulls go on in the background; the server stops delivering once `window` messages wait for
    // an acknowledgement, which bounds the inbox whatever the producer's pace.
    messages = await consumer.consume({
      max_messages: Math.min(window, Math.max(cfg.batchSize, 100)),
      abort_on_missing_resource: true,
      callback: (m) => inbox.push(m),
    });
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw err instanceof FatalError || err instanceof RetryableError
      ? err
      : natsError(err, ctx.componentId, target, `consume "${cfg.consumer}"`);
  }
  void messages.closed().then((err) => {
    if (err)
      inbox.fail(
        new FatalError(
          `${ctx.componentId}: NATS at ${target.address} stopped the consumer "${cfg.consumer}" of stream "${cfg.stream}" ` +
            `(was it or the stream deleted?): ${err.message}`,
          { code: ErrorCode.NOT_FOUND, cause: err },
        ),
      );
  });
  void nc
    .closed()
    .then((err) =>
      inbox.fail(
        new RetryableError(
          `${ctx.componentId}: lost the connection to NATS at ${target.address}${err ? `: ${err.message}` : ''}`,
          { cause: err },
        ),
      ),
    );

  // Messages read and not yet acknowledged, in the order they were read: JetStream acknowledges
  // each message on its own, so a checkpoint acknowledges the first `read - acked` of them.
  const self = randomUUID();
  const held: JsMsg[] = [];
  let acked = 0;
  flow.register({
    async commit(position: Json) {
      const p = position as unknown as Position;
      if (p?.run !== self || p.read <= acked) return;
      const done = held.splice(0, p.read - acked);
      acked = p.read;
      for (const m of done.slice(0, -1)) m.ack();
      // The consumer handles its acknowledgements in order: the server confirming the last one
      // confirms them all, so the commit returns only once none can be lost.
      const ok = await done
        .at(-1)!
        .ackAck({ timeout: 15_000 })
        .catch(() => false);
      if (!ok)
        throw new RetryableError(
          `${ctx.componentId}: NATS at ${target.address} did not confirm the acknowledgement of ${done.length} messages ` +
            `of consumer "${cfg.consumer}"; they will be delivered again`,
        );
    },
    async close() {
      await messages.close().catch(() => undefined);
      // What was delivered and not acknowledged (a failed run, messages not yet read) goes back
      // within a second rather than after ackWait: the next run, or another consumer, gets it.
      // Not at once: the server would hand it to this run's pull requests, still open on its
      // side until the connection closes, and the message would be lost until ackWait (seen).
      for (const m of held.splice(0)) m.nak(NAK_DELAY_MS);
      for (const m of inbox.takeAll()) m.nak(NAK_DELAY_MS);
      await nc.flush().catch(() => undefined);
      await nc.close().catch(() => undefined);
    },
  });
  ctx.setOrigin(`${target.url} stream ${cfg.stream} consumer ${cfg.consumer}`);

  const stopAfter = new StopAfter(cfg.stopAfter);
  let lagAskedAt = Number.NEGATIVE_INFINITY;
  const askLag = (): void => {
    if (performance.now() - lagAskedAt < LAG_EVERY_MS) return;
    lagAskedAt = performance.now();
    consumer.info(false).then(
      (i) => {
        lag = i.num_pending;
      },
      () => undefined,
    );
  };
  let read = 0;
  let position: Position = { run: self, read: 0, seq: 0 };
  // The consumer is left pulling until `close`: the final acknowledgements free room in the
  // window, and what the server delivers into it must land in the inbox, to be given back there.
  // Unsubscribed earlier, this run's pull requests stay open on the server until the connection
  // closes, and it delivers into them messages nobody receives until ackWait passes (seen with
  // nats-server 2.9: the next run then found the window full and read nothing).
  while (!flow.stop.aborted && !stopAfter.done) {
    const got = await inbox.take(Math.min(cfg.batchSize, stopAfter.room), BATCH_WAIT_MS, [
      ctx.signal,
      flow.stop,
    ]);
    ctx.signal.throwIfAborted();
    stopAfter.took(got.length);
    if (got.length === 0) {
      askLag();
      // Nothing came: the same position, so an idle stream makes no checkpoint.
      yield { rows: [], position: position as unknown as Json, ...(lag === undefined ? {} : { lag }) };
      continue;
    }
    const rows: Row[] = [];
    for (const m of got) {
      const id = m.headers?.get('Nats-Msg-Id') || m.info.streamSequence;
      const meta = {
        id,
        subject: m.subject,
        timestamp: new Date(m.info.timestampNanos / 1e6).toISOString(),
        redelivered: m.info.redelivered,
        headers: headerObject(m.headers),
        stream: m.info.stream,
        sequence: m.info.streamSequence,
        deliveryCount: m.info.deliveryCount,
      };
      const made = bodyRow(m.data, cfg, meta);
      if ('row' in made) rows.push(made.row);
      else
        ctx.quarantine({
          reason: `message ${id} (subject "${m.subject}", stream sequence ${meta.sequence}): ${made.reason}`,
          raw: Buffer.from(m.data.subarray(0, 4096)).toString('utf8'),
        });
      held.push(m);
    }
    read += got.length;
    lag = got.at(-1)!.info.pending;
    position = { run: self, read, seq: got.at(-1)!.info.streamSequence };
    // A full window gets no more deliveries until a checkpoint acknowledges some: ask for one.
    yield { rows, position: position as unknown as Json, checkpoint: read - acked >= window, lag };
  }
}

function check(cfg: Config): Issue[] {
  const issues = stopAfterIssues(cfg);
  if (cfg.deliverPolicy === 'by_start_time' && cfg.startTime === undefined)
    issues.push({ path: 'startTime', message: 'deliverPolicy by_start_time needs a startTime' });
  if (cfg.deliverPolicy !== 'by_start_time' && cfg.startTime !== undefined)
    issues.push({ path: 'startTime', message: 'is used only with deliverPolicy: by_start_time' });
  return issues;
}

export const natsSource = defineSource({
  name: 'nats',
  version: '1.0.0',
  summary:
    'Reads a NATS JetStream stream through a durable pull consumer; each message is acknowledged once its row is committed (or quarantined).',
  streaming: true,
  config: Config,
  credentialSchema: NatsCredential,
  connection: natsConnection,
  example: {
    url: 'nats://localhost:4222',
    stream: 'ORDERS',
    consumer: 'sluice-orders',
    deliverPolicy: 'all',
    filterSubject: 'orders.created',
    ackWait: '30s',
    maxAckPending: 1000,
    format: 'json',
    meta: true,
    batchSize: 500,
  },
  check,
  read,
});
