import { Type } from '@sinclair/typebox';
import type { Issue, Json, Row, SinkContext, SinkResult, SinkWriter } from '@sluice/core';
import { freshSendState, type SendState, sendId, sendStateFrom } from './send-ids.ts';
import { rowBody } from './stream-options.ts';

/** The options every queue sink (rabbitmq, mqtt, nats, redis-stream) shares. */
export const queueSinkProperties = {
  format: Type.Union([Type.Literal('json'), Type.Literal('text'), Type.Literal('bytes')], {
    default: 'json',
    description:
      "json: the row as a JSON object; text: the row's `body` field as UTF-8; bytes: the row's `body` field, base64, decoded.",
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
    description: 'Rows published together; the broker acknowledges each batch before the next checkpoint.',
  }),
  verify: Type.Unsafe<'count'>({
    type: 'string',
    enum: ['count'],
    default: 'count',
    description:
      'count: the messages the broker acknowledged are compared with the rows handed to the sink, less those ' +
      'quarantined. A message once consumed cannot be read back.',
  }),
};

/** The content type a message of each format carries. */
export const CONTENT_TYPE = {
  json: 'application/json',
  text: 'text/plain',
  bytes: 'application/octet-stream',
} as const;

export interface QueueSinkOptions {
  format: 'json' | 'text' | 'bytes';
  messageIdField?: string | undefined;
  batchSize: number;
}

/** A row ready to go: its body, where it goes (routing key, topic, subject…) and its id. */
export interface OutMessage {
  row: Row;
  body: Buffer;
  to: string;
  id: string;
}

/**
 * What every queue sink does the same way: rows wait until a batch is full or a checkpoint comes
 * (so a cancel before the first checkpoint publishes nothing), each takes a number that gives it
 * the same id when a resumed run publishes it again (SendState), a row that cannot be a message is
 * quarantined, and `verify: count` compares what the broker acknowledged with what was handed.
 * Delivery is at least once: rows published after the last checkpoint are published again on resume.
 */
export abstract class QueueWriter<C extends QueueSinkOptions> implements SinkWriter {
  protected readonly ctx: SinkContext<C>;
  #state: SendState = { nonce: '', sent: 0 };
  #pending: Row[] = [];
  #handed = 0;
  #delivered = 0;
  #refused = 0;

  constructor(ctx: SinkContext<C>) {
    this.ctx = ctx;
  }

  /** Where `row` goes, or why it cannot go anywhere (it is then quarantined). */
  protected abstract destination(row: Row): string | { reason: string };
  /** Publishes the batch and resolves once the broker acknowledged every message; throws otherwise. */
  protected abstract publish(messages: OutMessage[]): Promise<void>;
  /** Closes the connection; `hard` after a failure. Never throws. */
  protected abstract end(hard: boolean): Promise<void>;
  /** The destination, for the report. */
  protected abstract location(): string;

  async start(resume: Json | undefined): Promise<void> {
    this.#state = resume === undefined ? freshSendState() : sendStateFrom(resume, this.ctx.componentId);
  }

  /** Nothing published is ever taken back: a replay's rows are published after the others. */
  async startAppend(resume: Json | undefined): Promise<void> {
    await this.start(resume);
  }

  async write(rows: Row[]): Promise<void> {
    this.ctx.signal.throwIfAborted();
    for (const row of rows) this.#pending.push(row);
    const size = this.ctx.config.batchSize;
    while (this.#pending.length >= size) await this.#send(this.#pending.splice(0, size));
  }

  async flush(): Promise<void> {
    const rows = this.#pending;
    this.#pending = [];
    if (rows.length > 0) await this.#send(rows);
  }

  async commit(): Promise<Json> {
    await this.flush();
    return { ...this.#state };
  }

  async close(): Promise<SinkResult> {
    await this.flush();
    await this.end(false);
    return {
      rowsWritten: this.#delivered,
      location: this.location(),
      verification: { level: 'count', rowsHanded: this.#handed - this.#refused, rowsFound: this.#delivered },
    };
  }

  async abort(): Promise<void> {
    // Rows held back were never published; the resumed run publishes them from the checkpoint.
    this.#pending = [];
    await this.end(true);
  }

  async #send(rows: Row[]): Promise<void> {
    const cfg = this.ctx.config;
    const messages: OutMessage[] = [];
    for (const row of rows) {
      this.#handed++;
      const body = rowBody(row, cfg.format, this.#handed - 1, this.ctx.componentId);
      const to = this.destination(row);
      const id =
        cfg.messageIdField === undefined
          ? sendId(this.#state.nonce, this.#state.sent)
          : row[cfg.messageIdField];
      // Every row takes a number, published or not, so ids stay the same on a resume.
      this.#state.sent++;
      const reason =
        'reason' in body
          ? body.reason
          : typeof to !== 'string'
            ? to.reason
            : id === undefined || id === null
              ? `the message id field "${cfg.messageIdField}" is missing`
              : undefined;
      if (reason !== undefined) {
        this.ctx.quarantine({ reason, row });
        this.#refused++;
      } else messages.push({ row, body: body as Buffer, to: to as string, id: String(id) });
    }
    if (messages.length > 0) await this.publish(messages);
    this.#delivered += messages.length;
  }
}

/** The destination of a row from a fixed value or a field of the row (`routingKeyField`, `topicField`). */
export function fieldOr(
  row: Row,
  fixed: string | undefined,
  field: string | undefined,
  what: string,
): string | { reason: string } {
  if (field === undefined) return fixed ?? '';
  const v = row[field];
  if (typeof v === 'string' && v !== '') return v;
  return {
    reason: `the ${what} field "${field}" is ${v === undefined ? 'missing' : typeof v === 'string' ? 'empty' : `a ${typeof v}, not text`}`,
  };
}

/** A config check: exactly one of a fixed destination (`topic`, `subject`) and its per-row field. */
export function oneDestination<C extends object>(
  cfg: C,
  fixed: keyof C & string,
  field: keyof C & string,
): Issue[] {
  if ((cfg[fixed] === undefined) !== (cfg[field] === undefined)) return [];
  return [{ path: cfg[fixed] === undefined ? fixed : field, message: `give either ${fixed} or ${field}` }];
}
