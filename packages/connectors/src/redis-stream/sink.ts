import { type Static, Type } from '@sinclair/typebox';
import { defineSink, type Row, type SinkContext } from '@sluice/core';
import { fieldOr, type OutMessage, QueueWriter, queueSinkProperties } from '../shared/queue-sink.ts';
import {
  connectRedis,
  type RedisClient,
  RedisCredential,
  type RedisTarget,
  redisConnection,
  redisError,
} from '../shared/redis-conn.ts';

const Config = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'Redis url, e.g. redis://user:password@host:6379/0 (or a credential holding it).',
    }),
    stream: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'The key of the stream every entry goes to (see streamField).',
      }),
    ),
    streamField: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Each entry's stream key from this field of its row (a row without it is quarantined).",
      }),
    ),
    maxLen: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'Trim the stream to about this many entries as entries are added (MAXLEN ~): Redis trims whole ' +
          'nodes, so a few more may stay.',
      }),
    ),
    ...queueSinkProperties,
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

/**
 * Adds each row as a stream entry (XADD): its body in field `data` (format json) or `body` (text,
 * bytes), and its id in field `msgid`. Redis assigns entry ids, so a resumed run that adds an
 * entry again makes a second entry; `msgid` is the same both times, for consumers to de-duplicate.
 */
class RedisStreamWriter extends QueueWriter<Config> {
  readonly #client: RedisClient;
  readonly #target: RedisTarget;

  constructor(ctx: SinkContext<Config>, client: RedisClient, target: RedisTarget) {
    super(ctx);
    this.#client = client;
    this.#target = target;
  }

  protected destination(row: Row) {
    return fieldOr(row, this.ctx.config.stream, this.ctx.config.streamField, 'stream');
  }

  protected location(): string {
    const { stream } = this.ctx.config;
    return `${this.#target.url}${stream ? ` stream ${stream}` : ''}`;
  }

  protected async end(hard: boolean): Promise<void> {
    if (hard) this.#client.destroy();
    else await this.#client.close().catch(() => this.#client.destroy());
  }

  protected async publish(messages: OutMessage[]): Promise<void> {
    const cfg = this.ctx.config;
    const field = cfg.format === 'json' ? 'data' : 'body';
    const trim =
      cfg.maxLen === undefined
        ? undefined
        : { TRIM: { strategy: 'MAXLEN' as const, strategyModifier: '~' as const, threshold: cfg.maxLen } };
    // One pipeline per batch: every XADD goes out before the first reply is awaited.
    const multi = this.#client.multi();
    for (const m of messages) multi.xAdd(m.to, '*', { [field]: m.body, msgid: m.id }, trim);
    try {
      await multi.execAsPipeline();
    } catch (err) {
      throw redisError(err, this.ctx.componentId, this.#target, `add ${messages.length} entries (XADD)`);
    }
  }
}

export const redisStreamSink = defineSink({
  name: 'redis-stream',
  version: '1.0.0',
  summary:
    'Adds rows as Redis stream entries (XADD, pipelined per batch, optional MAXLEN ~), each with a msgid a resumed run repeats.',
  config: Config,
  credentialSchema: RedisCredential,
  connection: redisConnection,
  example: {
    url: 'redis://localhost:6379/0',
    stream: 'orders',
    maxLen: 1_000_000,
    format: 'json',
    batchSize: 500,
    verify: 'count',
  },
  check: (cfg) =>
    (cfg.stream === undefined) === (cfg.streamField === undefined)
      ? [
          {
            path: cfg.stream === undefined ? 'stream' : 'streamField',
            message: 'give either stream or streamField',
          },
        ]
      : [],
  async open(ctx) {
    const { client, target } = await connectRedis(ctx.config.url, {
      where: ctx.componentId,
      guard: ctx.guardConnect,
      net: ctx,
      onError: (message) => ctx.log.warn(message),
    });
    return new RedisStreamWriter(ctx, client, target);
  },
});
