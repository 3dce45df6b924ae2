import { type Static, Type } from '@sinclair/typebox';
import {
  defineSink,
  ErrorCode,
  FatalError,
  type Issue,
  type Json,
  type Row,
  type SinkContext,
  type SinkResult,
  type SinkWriter,
  SluiceError,
} from '@sluice/core';
import { shown } from '../location/http-request.ts';
import { jsonRows } from '../ndjson/sink.ts';
import { freshSendState, type SendState, sendId, sendStateFrom } from '../shared/send-ids.ts';
import { httpCredential } from './auth.ts';
import { httpConnection } from './check.ts';
import { HttpClient, type Received, withDefaultHeaders } from './client.ts';
import { requestIssues, sendingProperties } from './config.ts';

export const httpSinkConfig = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'Where every request goes: an http:// or https:// URL.',
      examples: ['https://api.example.com/v1/orders/bulk'],
    }),
    method: Type.Union([Type.Literal('POST'), Type.Literal('PUT'), Type.Literal('PATCH')], {
      default: 'POST',
      description: 'The HTTP method of every request.',
    }),
    format: Type.Union([Type.Literal('json'), Type.Literal('ndjson')], {
      default: 'json',
      description:
        'The body of a request of several rows. json: one JSON array of the rows (`application/json`); ' +
        'ndjson: one row a line (`application/x-ndjson`). Dates are sent as ISO 8601 text.',
    }),
    batchSize: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 500,
      description: 'Most rows per request; fewer when a checkpoint or the end comes first.',
    }),
    perRow: Type.Boolean({
      default: false,
      description: 'One request per row, its body the row as one JSON object (batchSize and format unused).',
    }),
    onError: Type.Union([Type.Literal('fail'), Type.Literal('quarantine')], {
      default: 'fail',
      description:
        'When the server refuses a request with a 4xx other than 401, 403, 404, 405, 408, 410 and 429 ' +
        '(400, 409, 422…): fail the step, or quarantine the rows of that request with the status and ' +
        'the start of the answer as the reason, and go on.',
    }),
    idempotencyHeader: Type.String({
      minLength: 1,
      pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
      default: 'Idempotency-Key',
      description:
        'The header each request carries a key in: the same for a request sent again (a retry, or a ' +
        'resumed run sending what was not committed), different for every other, so a server that ' +
        'honours it applies each request once.',
    }),
    ...sendingProperties,
    verify: Type.Unsafe<'count'>({
      type: 'string',
      enum: ['count'],
      default: 'count',
      description:
        'count: the rows the server answered 2xx to are compared with the rows handed to the sink, ' +
        'less those quarantined. An API offers no general way to read rows back.',
    }),
  },
  { additionalProperties: false },
);
export type HttpSinkConfig = Static<typeof httpSinkConfig>;

/** Longest excerpt of a refusal's body quoted in a quarantine reason or an error. */
const EXCERPT_BYTES = 300;

/**
 * Sends rows in requests of `batchSize` (or one a row), holding back the rows of a request not yet
 * full until `flush`, so that every checkpoint ends a request and a resumed run cuts the rows after
 * it into the same requests, numbered as before: each carries the key it carried the first time.
 */
class HttpWriter implements SinkWriter {
  readonly #ctx: SinkContext<HttpSinkConfig>;
  readonly #client: HttpClient;
  readonly #encode: (rows: Row[], rowsBefore?: number) => Buffer;
  readonly #unit: number;
  #state: SendState = { nonce: '', sent: 0 };
  #pending: Row[] = [];
  #handed = 0;
  #accepted = 0;
  #refused = 0;

  constructor(ctx: SinkContext<HttpSinkConfig>) {
    const cfg = ctx.config;
    this.#ctx = ctx;
    const type = cfg.format === 'ndjson' && !cfg.perRow ? 'application/x-ndjson' : 'application/json';
    const headers = withDefaultHeaders(cfg.headers, { 'Content-Type': type });
    this.#client = new HttpClient({ ...cfg, headers }, ctx, ctx.componentId, WORDING);
    this.#unit = cfg.perRow ? 1 : cfg.batchSize;
    this.#encode = bodyEncoder(ctx.componentId, cfg.perRow ? 'row' : cfg.format);
  }

  async start(resume: Json | undefined): Promise<void> {
    this.#state = resume === undefined ? freshSendState() : sendStateFrom(resume, this.#where);
  }

  /** Nothing sent is ever taken back, so a replay's rows are simply sent after the others. */
  async startAppend(resume: Json | undefined): Promise<void> {
    await this.start(resume);
  }

  async write(rows: Row[]): Promise<void> {
    this.#ctx.signal.throwIfAborted();
    for (const row of rows) this.#pending.push(row);
    if (this.#pending.length < this.#unit) return;
    const full = this.#pending.length - (this.#pending.length % this.#unit);
    const ready = this.#pending.slice(0, full);
    this.#pending = this.#pending.slice(full);
    for (let at = 0; at < ready.length; at += this.#unit) await this.#send(ready.slice(at, at + this.#unit));
  }

  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const rows = this.#pending;
    this.#pending = [];
    await this.#send(rows);
  }

  async commit(): Promise<Json> {
    await this.flush();
    return { ...this.#state };
  }

  async close(): Promise<SinkResult> {
    await this.flush();
    return {
      rowsWritten: this.#accepted,
      location: shown(this.#ctx.config.url),
      verification: {
        level: 'count',
        rowsHanded: this.#handed - this.#refused,
        rowsFound: this.#accepted,
      },
    };
  }

  async abort(): Promise<void> {
    // Rows held back were never sent; the resumed run sends them from the last checkpoint.
    this.#pending = [];
  }

  get #where(): string {
    return this.#ctx.componentId;
  }

  async #send(rows: Row[]): Promise<void> {
    const { url, method, idempotencyHeader } = this.#ctx.config;
    const seq = this.#state.sent;
    const label = `request ${seq + 1} (${rows.length} row${rows.length === 1 ? '' : 's'})`;
    const body = this.#encode(rows, this.#handed);
    this.#handed += rows.length;
    const got = await this.#client.send(
      {
        method,
        url,
        headers: { [idempotencyHeader]: sendId(this.#state.nonce, seq) },
        body,
        refusalIsAnswer: true,
      },
      label,
    );
    if (got.status >= 400) this.#refusal(got, rows, label);
    else this.#accepted += rows.length;
    this.#state.sent = seq + 1;
  }

  /** A 4xx answer (see Sent.refusalIsAnswer): the rows go to quarantine, or the step fails. */
  #refusal(got: Received, rows: Row[], label: string): void {
    const { url, method, onError } = this.#ctx.config;
    const at = `${this.#where}: ${label} to ${shown(url)}`;
    const status = `HTTP ${got.status}`;
    // These say the URL or the method is wrong, not the rows: quarantining would set every row aside.
    if (got.status === 404 || got.status === 410)
      throw new SluiceError(
        ErrorCode.NOT_FOUND,
        `${at}: the server has no such resource (${status}); check url`,
      );
    if (got.status === 405)
      throw new FatalError(`${at}: ${method} is not allowed there (${status}); check method and url`, {
        code: ErrorCode.CONFIG,
      });
    const reason = `${status}: ${this.#excerpt(got.body)}`;
    if (onError === 'fail')
      throw new FatalError(
        `${at}: the server refused the rows (${reason}); fix the rows or the config, or set ` +
          'onError: quarantine to set refused rows aside and go on',
        { code: ErrorCode.CONFIG },
      );
    for (const row of rows) this.#ctx.quarantine({ reason, row });
    this.#refused += rows.length;
  }

  /** The start of an answer's body, on one line, every secret sent masked. */
  #excerpt(body: Buffer): string {
    // Masked before it is cut, so no secret is cut in two and shown in part.
    const text = this.#client.masked(body.subarray(0, 16 * EXCERPT_BYTES).toString('utf8'));
    const line = text.replace(/\s+/g, ' ').trim();
    const cut = Buffer.from(line)
      .subarray(0, EXCERPT_BYTES)
      .toString('utf8')
      .replace(/\uFFFD+$/, '');
    return cut === '' ? '(no body)' : cut.length < line.length ? `${cut}…` : cut;
  }
}

const WORDING = {
  resource: 'resource',
  access: 'auth (or headers)',
  request: 'url, method and headers',
} as const;

const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');

/** A request body of rows: a JSON array, NDJSON lines, or one row's object. */
function bodyEncoder(
  where: string,
  shape: 'json' | 'ndjson' | 'row',
): (rows: Row[], before?: number) => Buffer {
  if (shape === 'ndjson') return jsonRows(where, [], [0x0a]);
  if (shape === 'row') return jsonRows(where, [], []);
  // Every row is preceded by a comma; the first one's is dropped for the bracket.
  const rows = jsonRows(where, [0x2c], []);
  return (batch, before) => {
    const data = rows(batch, before);
    return Buffer.concat([OPEN, data.subarray(1), CLOSE]);
  };
}

function sinkIssues(cfg: HttpSinkConfig): Issue[] {
  const issues = requestIssues(cfg);
  if (cfg.perRow && cfg.format === 'ndjson')
    issues.push({ path: 'format', message: 'is not used with perRow: each body is one JSON object' });
  const own = cfg.idempotencyHeader.toLowerCase();
  for (const name of Object.keys(cfg.headers ?? {}))
    if (name.toLowerCase() === own)
      issues.push({
        path: `headers.${name}`,
        message: `is set by the sink, a key per request (idempotencyHeader); remove it from headers`,
      });
  return issues;
}

export const httpSink = defineSink({
  name: 'http',
  version: '1.0.0',
  summary:
    'Sends rows to an HTTP API: batches as a JSON array or NDJSON, or one request per row, each with an ' +
    'idempotency key that a retried or resumed request sends again; refused rows fail the step or go to quarantine.',
  config: httpSinkConfig,
  credentialSchema: httpCredential,
  // OPTIONS changes nothing; any answer but a 401 or 403 shows the API is reached and takes the auth.
  connection: httpConnection((url) => ({ method: 'OPTIONS', url, refusalIsAnswer: true }), 'http'),
  example: {
    url: 'https://api.example.com/v1/orders/bulk',
    method: 'POST',
    format: 'json',
    batchSize: 500,
    perRow: false,
    onError: 'quarantine',
    idempotencyHeader: 'Idempotency-Key',
    auth: { type: 'bearer', token: '${env.API_TOKEN}' },
    rateLimit: 5,
    timeoutMs: 30_000,
    retries: { attempts: 5, initialDelayMs: 500, maxDelayMs: 30_000 },
    verify: 'count',
  },
  check: sinkIssues,
  async open(ctx) {
    return new HttpWriter(ctx);
  },
});
