import { type Static, Type } from '@sinclair/typebox';
import { type ComponentContext, defineSource, ErrorCode, FatalError, RetryableError } from '@sluice/core';
import { httpCredential } from '../http/auth.ts';
import { httpConnection } from '../http/check.ts';
import { HttpClient, withDefaultHeaders } from '../http/client.ts';
import { requestIssues, requestProperties } from '../http/config.ts';
import { type PageRequest, type Pager, readPages } from '../http/pages.ts';
import { jsonRecords, parseJsonPage, valueAt } from '../http/records.ts';

export const graphqlSourceConfig = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description: 'The GraphQL endpoint.',
      examples: ['https://api.github.com/graphql'],
    }),
    query: Type.String({
      minLength: 1,
      description:
        'The query. For pagination it takes the cursor variable (`$after: String`) and selects ' +
        '`pageInfo { endCursor hasNextPage }` beside the records.',
    }),
    variables: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.Unknown(), {
        description: 'Variables sent with the query, e.g. {"owner": "octo", "first": 100}.',
      }),
    ),
    records: Type.String({
      minLength: 1,
      description: 'Dot path of the records in the response, e.g. data.repository.issues.nodes.',
      examples: ['data.repository.issues.nodes'],
    }),
    pageInfo: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Dot path of the `pageInfo { endCursor hasNextPage }` object. Default: beside the records ' +
          '(data.repository.issues.pageInfo for records data.repository.issues.nodes). Without one in ' +
          'the response, one page is read.',
      }),
    ),
    cursorVariable: Type.String({
      minLength: 1,
      default: 'after',
      description: 'The variable the next page cursor (`endCursor`) is sent in.',
    }),
    maxPages: Type.Optional(Type.Integer({ minimum: 1, description: 'Stop after this many pages.' })),
    ...requestProperties,
  },
  { additionalProperties: false },
);
export type GraphqlSourceConfig = Static<typeof graphqlSourceConfig>;

export const graphqlSource = defineSource({
  name: 'graphql',
  version: '1.0.0',
  summary:
    'Reads records from a GraphQL API, following pageInfo cursors page by page, with the http source’s auth, rate limits, retries and resume.',
  config: graphqlSourceConfig,
  credentialSchema: httpCredential,
  connection: httpConnection(
    (url) => ({ method: 'POST', url, body: JSON.stringify({ query: '{ __typename }' }) }),
    'graphql',
  ),
  example: {
    url: 'https://api.github.com/graphql',
    query:
      'query($owner: String!, $after: String) { repository(owner: $owner, name: "app") { ' +
      'issues(first: 100, after: $after) { nodes { number title updatedAt } pageInfo { endCursor hasNextPage } } } }',
    variables: { owner: 'octo' },
    records: 'data.repository.issues.nodes',
    cursorVariable: 'after',
    auth: { type: 'bearer', token: '${env.GITHUB_TOKEN}' },
    timeoutMs: 30_000,
    retries: { attempts: 5, initialDelayMs: 500, maxDelayMs: 30_000 },
    batchSize: 1000,
  },
  check: (cfg) => requestIssues(cfg),
  async *read(ctx) {
    const cfg = ctx.config;
    const headers = withDefaultHeaders(cfg.headers, {
      'Content-Type': 'application/json',
      Accept: 'application/json',
    });
    const client = new HttpClient({ ...cfg, headers }, ctx, ctx.componentId);
    yield* readPages(ctx as never, client, graphqlPager(cfg, ctx as never), cfg);
  },
});

function graphqlPager(cfg: GraphqlSourceConfig, ctx: ComponentContext<unknown>): Pager {
  const pageInfoPath = cfg.pageInfo ?? cfg.records.replace(/(^|\.)[^.]+$/, '$1pageInfo');
  const request = (after: unknown, n: number): PageRequest => ({
    method: 'POST',
    url: cfg.url,
    body: JSON.stringify({
      query: cfg.query,
      variables: { ...cfg.variables, ...(after === undefined ? {} : { [cfg.cursorVariable]: after }) },
    }),
    n,
  });
  return {
    first: () => request(undefined, 1),
    read(req, got, label) {
      const doc = parseJsonPage(got.body, label);
      refuseErrors(doc, label);
      const rows = jsonRecords(doc, cfg.records, label, ctx);
      const info = valueAt(doc, pageInfoPath) as { endCursor?: unknown; hasNextPage?: unknown } | undefined;
      const more =
        rows.length > 0 &&
        info?.hasNextPage === true &&
        typeof info.endCursor === 'string' &&
        info.endCursor !== '' &&
        (cfg.maxPages === undefined || req.n < cfg.maxPages);
      return { rows, next: more ? request(info.endCursor, req.n + 1) : undefined };
    },
  };
}

/**
 * A GraphQL response with `errors` fails the page: its data may be partial (a field that failed
 * is null), and reading on would lose records silently. Throttling errors are retryable.
 */
function refuseErrors(doc: unknown, label: string): void {
  const errors = (doc as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return;
  const said = errors
    .slice(0, 3)
    .map((e) => String((e as { message?: unknown })?.message ?? JSON.stringify(e)))
    .join('; ');
  const text = JSON.stringify(errors);
  const message = `${label}: the server answered with GraphQL errors: ${said.slice(0, 500)}`;
  if (/RATE.?LIMIT|THROTTL/i.test(text))
    throw new RetryableError(`${message}; try again later`, { code: ErrorCode.RATE_LIMITED });
  throw new FatalError(`${message}; check query and variables`, { code: ErrorCode.CONFIG });
}
