import { type Static, Type } from '@sinclair/typebox';
import {
  type Acknowledger,
  ErrorCode,
  FatalError,
  type Issue,
  type Row,
  type SourceContext,
} from '@sluice/core';
import { stringifyRow } from '../ndjson/sink.ts';

/** A duration option's pattern (`500ms`, `30s`, `10m`, `1h`), for a config schema. */
export const DURATION_PATTERN = '^\\d+(\\.\\d+)?(ms|s|m|h)$';

/**
 * What every queue source (rabbitmq, nats, mqtt, redis-stream) shares: how a body becomes a row,
 * where the message's metadata goes, how a bounded read ends, and how many messages a batch holds.
 */
export const streamSourceProperties = {
  format: Type.Union([Type.Literal('json'), Type.Literal('text'), Type.Literal('bytes')], {
    default: 'json',
    description:
      'json: the body is a JSON object whose fields become the row (a body that does not parse, or is ' +
      'not an object, is quarantined with its message id); text: the body as UTF-8 text in a `body` ' +
      'field; bytes: the body as base64 in `body`.',
  }),
  meta: Type.Boolean({
    default: true,
    description:
      "Add the message's metadata (id, subject or routing key, timestamp, redelivered, headers) as a " +
      '`_meta` object; `select` or `map` can keep or drop it.',
  }),
  batchSize: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 500,
    description: 'Most messages per batch; a batch also ends after a short wait when fewer arrive.',
  }),
  stopAfter: Type.Optional(
    Type.Object(
      {
        messages: Type.Optional(Type.Integer({ minimum: 1, description: 'Stop after this many messages.' })),
        idleSeconds: Type.Optional(
          Type.Number({ exclusiveMinimum: 0, description: 'Stop once no message came for this long.' }),
        ),
        duration: Type.Optional(
          Type.String({
            pattern: DURATION_PATTERN,
            description: 'Stop after reading for this long: `30s`, `10m`, `1h`.',
          }),
        ),
      },
      {
        additionalProperties: false,
        description:
          'End the read (for batch use): the flow then writes, checkpoints and acknowledges what it read and ' +
          'succeeds. Without it a flow from a queue runs until it is cancelled.',
      },
    ),
  ),
};

const streamSourceConfig = Type.Object(streamSourceProperties);
export type StreamSourceOptions = Static<typeof streamSourceConfig>;

/** What a config check of a queue source finds wrong with `stopAfter` (an empty object). */
export function stopAfterIssues(o: Pick<StreamSourceOptions, 'stopAfter'>): Issue[] {
  const s = o.stopAfter;
  if (s === undefined || s.messages !== undefined || s.idleSeconds !== undefined || s.duration !== undefined)
    return [];
  return [
    { path: 'stopAfter', message: 'names no limit: give messages, idleSeconds or duration, or leave it out' },
  ];
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds of a duration that matched DURATION_PATTERN (the schema checked it first). */
export function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (m === null) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** Decides when a bounded read is over (see `stopAfter`); always false for an unbounded one. */
export class StopAfter {
  readonly #messages: number;
  readonly #idleMs: number;
  readonly #endsAt: number;
  #count = 0;
  #lastMessage = performance.now();

  constructor(o: StreamSourceOptions['stopAfter']) {
    this.#messages = o?.messages ?? Number.POSITIVE_INFINITY;
    this.#idleMs = o?.idleSeconds === undefined ? Number.POSITIVE_INFINITY : o.idleSeconds * 1000;
    this.#endsAt =
      o?.duration === undefined ? Number.POSITIVE_INFINITY : performance.now() + durationMs(o.duration);
  }

  /** How many more messages the read may take (Infinity when unbounded by count). */
  get room(): number {
    return this.#messages - this.#count;
  }

  /** Counts `n` messages just read. */
  took(n: number): void {
    this.#count += n;
    if (n > 0) this.#lastMessage = performance.now();
  }

  /** True once a limit is reached: the count, the time without a message, or the duration. */
  get done(): boolean {
    const now = performance.now();
    return this.#count >= this.#messages || now - this.#lastMessage >= this.#idleMs || now >= this.#endsAt;
  }
}

/** How long a queue source waits for more messages before it yields a short batch. */
export const BATCH_WAIT_MS = 200;

/** The `_meta` a row carries, as each connector fills it. */
export interface MessageMeta {
  id: string | number | null;
  /** The routing key, subject, topic or stream key. */
  subject: string;
  /** When the message was published, ISO 8601, when the broker says. */
  timestamp: string | null;
  redelivered: boolean;
  headers: Record<string, unknown>;
  [more: string]: unknown;
}

/**
 * The row for a message body, or the reason it cannot be one (the caller quarantines it with the
 * message id). `meta` goes under `_meta` when the config asks for it.
 */
export function bodyRow(
  body: Uint8Array,
  o: Pick<StreamSourceOptions, 'format' | 'meta'>,
  meta: MessageMeta,
): { row: Row } | { reason: string } {
  let row: Row;
  if (o.format === 'json') {
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return {
        reason: `the body is not JSON (${(err as Error).message}); use format: text to read it as text`,
      };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      return {
        reason: `the body is JSON but not an object (${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}); a row needs an object, or use format: text`,
      };
    row = value as Row;
  } else {
    const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    row = { body: o.format === 'text' ? b.toString('utf8') : b.toString('base64') };
  }
  if (o.meta) row._meta = meta;
  return { row };
}

/**
 * The body of the message a queue sink sends for `row`: the row as JSON, or its `body` field as
 * text or base64 bytes; or why the row has none (the sink quarantines it). `index` (rows sent
 * before) and `where` name a row with no JSON form in the error.
 */
export function rowBody(
  row: Row,
  format: 'json' | 'text' | 'bytes',
  index: number,
  where: string,
): Buffer | { reason: string } {
  if (format === 'json') return Buffer.from(stringifyRow(row, index, where));
  const body = row.body;
  if (typeof body !== 'string')
    return {
      reason: `format ${format} sends the row's \`body\` field, and this row has ${body === undefined ? 'none' : `a ${typeof body} there`}; map one, or use format: json`,
    };
  return format === 'text' ? Buffer.from(body, 'utf8') : Buffer.from(body, 'base64');
}

/**
 * The flow's hooks a queue source needs (SourceContext.acknowledger and stop): a hand-built context
 * without them cannot acknowledge, so the source refuses to run rather than never acknowledge.
 */
export function flowHooks(ctx: SourceContext<unknown>): {
  register(a: Acknowledger): void;
  stop: AbortSignal;
} {
  const { acknowledger, stop } = ctx;
  if (acknowledger === undefined || stop === undefined)
    throw new FatalError(
      `${ctx.componentId}: a queue source runs in a flow, which acknowledges its messages`,
      {
        code: ErrorCode.INTERNAL,
      },
    );
  return { register: (a) => acknowledger.call(ctx, a), stop };
}
