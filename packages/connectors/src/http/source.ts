import { type Static, Type } from '@sinclair/typebox';
import { defineSource } from '@sluice/core';
import { httpCredential } from './auth.ts';
import { httpConnection } from './check.ts';
import { HttpClient, withDefaultHeaders } from './client.ts';
import {
  incrementalSchema,
  paginationIssues,
  paginationSchema,
  requestIssues,
  requestProperties,
} from './config.ts';
import { readPages } from './pages.ts';
import { httpPager } from './paginate.ts';

export const httpSourceConfig = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description:
        'The first page: an http:// or https:// URL (query parameters may be in it or in `query`).',
      examples: ['https://api.github.com/repos/octo/app/issues'],
    }),
    method: Type.Union([Type.Literal('GET'), Type.Literal('POST')], {
      default: 'GET',
      description: 'The HTTP method of every page request.',
    }),
    query: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
        description: 'Query parameters added to the URL, e.g. {"state": "open"}.',
      }),
    ),
    body: Type.Optional(
      Type.Unknown({
        description:
          'A JSON body sent with every page request (for POST search endpoints), with `Content-Type: ' +
          'application/json` unless headers name another.',
      }),
    ),
    records: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Dot path of the records in a JSON response (data.items). Without it the response must be an array. ' +
          'NDJSON and CSV responses are records line by line. Numbers a double would change (ids past 2^53) ' +
          'are kept exact, as text.',
        examples: ['data.items'],
      }),
    ),
    format: Type.Union(
      [Type.Literal('auto'), Type.Literal('json'), Type.Literal('ndjson'), Type.Literal('csv')],
      {
        default: 'auto',
        description:
          'How a response is read. auto: by its Content-Type (ndjson/jsonl, csv), JSON otherwise. CSV needs a ' +
          'header line; its values stay text (cast them with the cast transform).',
      },
    ),
    pagination: Type.Optional(paginationSchema),
    incremental: Type.Optional(incrementalSchema),
    ...requestProperties,
  },
  { additionalProperties: false },
);
export type HttpSourceConfig = Static<typeof httpSourceConfig>;

export const httpSource = defineSource({
  name: 'http',
  version: '1.0.0',
  summary:
    'Reads records from an HTTP API (JSON, NDJSON or CSV responses) page by page, with auth, rate limits, retries and resumable, incremental reads.',
  config: httpSourceConfig,
  credentialSchema: httpCredential,
  connection: httpConnection((url) => ({ method: 'GET', url }), 'http'),
  example: {
    url: 'https://api.example.com/v1/orders',
    method: 'GET',
    query: { status: 'shipped' },
    records: 'data',
    format: 'auto',
    pagination: { type: 'cursor', path: 'meta.next_cursor', param: 'cursor' },
    incremental: { field: 'updated_at', param: 'updated_since' },
    auth: { type: 'bearer', token: '${env.API_TOKEN}' },
    rateLimit: 5,
    timeoutMs: 30_000,
    retries: { attempts: 5, initialDelayMs: 500, maxDelayMs: 30_000 },
    batchSize: 1000,
  },
  check: (cfg) => [...requestIssues(cfg), ...paginationIssues(cfg.pagination, cfg.format)],
  async *read(ctx) {
    const cfg = ctx.config;
    const headers =
      cfg.body === undefined
        ? cfg.headers
        : withDefaultHeaders(cfg.headers, { 'Content-Type': 'application/json' });
    const client = new HttpClient({ ...cfg, headers }, ctx, ctx.componentId);
    yield* readPages(ctx as never, client, httpPager(cfg, ctx as never), cfg);
  },
});
