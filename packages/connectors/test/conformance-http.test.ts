import type { Row } from '@sluice/core';
import { afterAll } from 'vitest';
import { graphqlSource, httpSource } from '../src/index.ts';
import { sourceConformance } from './conformance.ts';
import type { SecretCase } from './conformance-checks.ts';
import { cliSourceConformance } from './conformance-cli.ts';
import { type Api, startApi } from './http-api.ts';

// The http and graphql sources against a real HTTP API this test starts (node:http on port 0).

const apis: Api[] = [];
afterAll(async () => {
  await Promise.all(apis.map((a) => a.close()));
});
async function api(rows: Row[]): Promise<Api> {
  const a = await startApi(rows);
  apis.push(a);
  return a;
}

const sample = [
  { id: 1, name: 'Ana', note: 'tab\there' },
  { id: 2, name: 'Bruno', note: 'back\\slash' },
  { id: 3, name: 'Cé', note: null },
  { id: 4, name: 'Dora', note: 'new\nline' },
];

/** One try, no wait: a secret case fails at once. */
const once = { retries: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 } };

const HTTP_SECRET = 'conformance-http-B3arer';
const unreachableBearer: SecretCase = {
  secret: HTTP_SECRET,
  config: () => ({ url: 'http://127.0.0.1:1/items', auth: { type: 'bearer', token: HTTP_SECRET }, ...once }),
};
const GRAPHQL_SECRET = 'conformance-oauth-Cl1entSecret';
const unreachableOauth: SecretCase = {
  secret: GRAPHQL_SECRET,
  config: () => ({
    url: 'http://127.0.0.1:1/graphql',
    query: '{ items { nodes { id } } }',
    records: 'data.items.nodes',
    auth: {
      type: 'oauth2',
      tokenUrl: 'http://127.0.0.1:1/token',
      clientId: 'cid',
      clientSecret: GRAPHQL_SECRET,
    },
    ...once,
  }),
};

sourceConformance('http', {
  def: httpSource,
  resumable: true,
  badConfig: { url: 'http://127.0.0.1/x', pagination: { type: 'pages' } },
  badPath: 'with.pagination.type',
  secret: unreachableBearer,
  sample,
  async setup(rows) {
    const a = await api(rows);
    return {
      url: `${a.url}/page`,
      records: 'data',
      pagination: { type: 'page', size: 2, sizeParam: 'per_page' },
    };
  },
});

sourceConformance('graphql', {
  def: graphqlSource,
  resumable: true,
  badConfig: { url: 'http://127.0.0.1/graphql', query: '{ x }', records: 'data.x', cursorVariable: '' },
  badPath: 'with.cursorVariable',
  secret: unreachableOauth,
  sample,
  async setup(rows) {
    const a = await api(rows);
    return {
      url: `${a.url}/graphql`,
      query:
        'query($after: String) { items(first: 2, after: $after) { nodes { id } pageInfo { endCursor hasNextPage } } }',
      variables: { first: 2 },
      records: 'data.items.nodes',
    };
  },
});

cliSourceConformance('http', 'http', {
  async input(rows) {
    const a = await api(rows);
    return { url: `${a.url}/link`, pagination: { type: 'link' }, query: { per_page: 50 }, batchSize: 50 };
  },
  secret: unreachableBearer,
});

cliSourceConformance('graphql', 'graphql', {
  async input(rows) {
    const a = await api(rows);
    return {
      url: `${a.url}/graphql`,
      query:
        'query($first: Int, $after: String) { items(first: $first, after: $after) { nodes { id name } pageInfo { endCursor hasNextPage } } }',
      variables: { first: 50 },
      records: 'data.items.nodes',
      batchSize: 50,
    };
  },
  secret: unreachableOauth,
});
