import { type Static, Type } from '@sinclair/typebox';
import type { Issue } from '@sluice/core';
import { authIssues, httpAuth } from './auth.ts';

/**
 * How every HTTP connector (the http and graphql sources, the http sink) sends its requests: how
 * they authenticate, how fast and how patiently they are sent. One group so they cannot drift apart.
 */
export const sendingProperties = {
  headers: Type.Optional(
    Type.Record(Type.String({ minLength: 1 }), Type.String(), {
      description: 'Request headers, e.g. {"Accept": "application/vnd.github+json"}.',
    }),
  ),
  auth: Type.Optional(httpAuth),
  timeoutMs: Type.Integer({
    minimum: 100,
    default: 30_000,
    description:
      'Time allowed for a response to start, and between two pieces of its body; past it the request is retried.',
  }),
  rateLimit: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      description:
        'Most requests per second, never exceeded (requests are spaced 1/rateLimit seconds apart), e.g. 5 or 0.5.',
      examples: [5],
    }),
  ),
  retries: Type.Object(
    {
      attempts: Type.Integer({
        minimum: 1,
        maximum: 100,
        default: 5,
        description: 'Tries of one request, the first included.',
      }),
      initialDelayMs: Type.Integer({
        minimum: 0,
        default: 500,
        description: 'Wait before the first retry; doubled for each next one (with jitter).',
      }),
      maxDelayMs: Type.Integer({
        minimum: 0,
        default: 30_000,
        description: 'Longest wait between two tries.',
      }),
    },
    {
      additionalProperties: false,
      default: {},
      description:
        'How a request that failed for a passing reason (5xx, 408, 429, a timeout, a broken connection) is ' +
        'sent again. A `Retry-After` header (seconds or a date) sets the wait when it is longer. When the ' +
        'tries run out the step fails with a retryable error, and the step retry resumes from its last checkpoint.',
    },
  ),
};

/** The options every HTTP source takes (http, graphql): how requests are sent, and rows per batch. */
export const requestProperties = {
  ...sendingProperties,
  batchSize: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 1000,
    description: 'Most rows per batch: a page with more records is handed on in several batches.',
  }),
};

export const paginationSchema = Type.Object(
  {
    type: Type.Union(
      [
        Type.Literal('page'),
        Type.Literal('offset'),
        Type.Literal('cursor'),
        Type.Literal('link'),
        Type.Literal('next_url'),
      ],
      {
        description:
          'page: a page number in query parameter `param` (from `start`, 1 more each page); offset: a record ' +
          'offset in `param` (grows by the records received), the page size in `limitParam`; cursor: the value ' +
          'at `path` in the response, sent in `param`; link: the `Link: <…>; rel="next"` header; next_url: the ' +
          'URL at `path` in the response.',
      },
    ),
    param: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'page, offset, cursor: the query parameter to set. Default `page`, `offset` or `cursor`.',
      }),
    ),
    start: Type.Optional(
      Type.Integer({ description: 'page: the number of the first page. Default 1.', examples: [0, 1] }),
    ),
    size: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'page, offset: records asked for per page, sent in `sizeParam` or `limitParam`.',
        examples: [100],
      }),
    ),
    sizeParam: Type.Optional(
      Type.String({ minLength: 1, description: 'page: the query parameter for `size`, e.g. per_page.' }),
    ),
    limitParam: Type.Optional(
      Type.String({ minLength: 1, description: 'offset: the query parameter for `size`. Default `limit`.' }),
    ),
    path: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'cursor, next_url: dot path of the next cursor or URL in the response (meta.next_cursor, links.next).',
      }),
    ),
    maxPages: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Stop after this many pages (counted from the first page of the run).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'How to ask for the next page. Reading stops at an empty page, a missing cursor or next link, or `maxPages`. ' +
      'Without it one request is made.',
    examples: [{ type: 'link' }, { type: 'cursor', path: 'meta.next_cursor', param: 'cursor' }],
  },
);
export type Pagination = Static<typeof paginationSchema>;

export const incrementalSchema = Type.Object(
  {
    field: Type.String({
      minLength: 1,
      description:
        'The record field that grows with each change (updated_at, id); dot path for nested fields.',
    }),
    param: Type.String({
      minLength: 1,
      description: 'The query parameter the highest value read by the last successful run is sent in.',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Read only what changed since the last run: the highest `field` committed is kept per pipeline step and ' +
      'sent as `param` on the next run (not on the first). Values compare as numbers when both are numbers, ' +
      'else as text (ISO 8601 timestamps in one format compare correctly).',
    examples: [{ field: 'updated_at', param: 'since' }],
  },
);
export type Incremental = Static<typeof incrementalSchema>;

/** Pagination and auth problems the schema cannot see. */
export function requestIssues(cfg: { auth?: Static<typeof httpAuth> | undefined; url: string }): Issue[] {
  const issues = authIssues(cfg.auth);
  // A URL still holding `${…}` names a variable that is not set: that is reported on its own.
  if (!/^https?:\/\//i.test(cfg.url) && !cfg.url.includes('${'))
    issues.push({ path: 'url', message: 'must be an http:// or https:// URL' });
  return issues;
}

export function paginationIssues(p: Pagination | undefined, format: string): Issue[] {
  if (p === undefined) return [];
  const issues: Issue[] = [];
  if ((p.type === 'cursor' || p.type === 'next_url') && p.path === undefined)
    issues.push({ path: 'pagination.path', message: `is required when pagination.type is ${p.type}` });
  if ((p.type === 'cursor' || p.type === 'next_url') && (format === 'ndjson' || format === 'csv'))
    issues.push({
      path: 'pagination.type',
      message: `${p.type} reads the next page from a JSON response; format ${format} has none (use page, offset or link)`,
    });
  const allowed: Record<Pagination['type'], readonly string[]> = {
    page: ['param', 'start', 'size', 'sizeParam'],
    offset: ['param', 'size', 'limitParam'],
    cursor: ['param', 'path'],
    link: [],
    next_url: ['path'],
  };
  for (const key of Object.keys(p))
    if (key !== 'type' && key !== 'maxPages' && !allowed[p.type].includes(key))
      issues.push({ path: `pagination.${key}`, message: `is not used when pagination.type is ${p.type}` });
  return issues;
}
