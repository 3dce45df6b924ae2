import { afterEach, describe, expect, it } from 'vitest';
import { readSource } from '../../test/harness.ts';
import { type Api, send, startApi } from '../../test/http-api.ts';
import { graphqlSource } from './source.ts';

const records = Array.from({ length: 5 }, (_, i) => ({ id: i + 1, title: `t${i + 1}` }));
const query =
  'query($first: Int, $after: String) { items(first: $first, after: $after) { nodes { id title } pageInfo { endCursor hasNextPage } } }';
const fast = { retries: { attempts: 2, initialDelayMs: 10, maxDelayMs: 10 } };

let api: Api | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe('graphql source', () => {
  it('follows pageInfo.endCursor in the `after` variable until hasNextPage is false', async () => {
    api = await startApi(records);
    const r = await readSource(graphqlSource, {
      ...fast,
      url: `${api.url}/graphql`,
      query,
      variables: { first: 2 },
      records: 'data.items.nodes',
    });
    expect(r.rows).toEqual(records);
    const sent = api.seen.map(
      (s) => JSON.parse(s.body) as { query: string; variables: Record<string, unknown> },
    );
    expect(sent.map((b) => b.variables)).toEqual([
      { first: 2 },
      { first: 2, after: '2' },
      { first: 2, after: '4' },
    ]);
    expect(sent.every((b) => b.query === query)).toBe(true);
    expect(api.seen[0]!.headers['content-type']).toBe('application/json');
  });

  it('resumes with the cursor of the page after the last one committed', async () => {
    api = await startApi(records);
    const config = {
      ...fast,
      url: `${api.url}/graphql`,
      query,
      variables: { first: 2 },
      records: 'data.items.nodes',
    };
    const first = await readSource(graphqlSource, config, { maxBatches: 1 });
    const rest = await readSource(graphqlSource, config, { resumeFrom: first.positions[0]! });
    expect([...first.rows, ...rest.rows]).toEqual(records);
    // Page 1, then pages 2 and 3: none asked twice.
    expect(api.seen).toHaveLength(3);
  });

  it('a response with GraphQL errors fails the page with their messages', async () => {
    api = await startApi(records, {
      intercept: (_, res) => {
        send(res, 200, { data: null, errors: [{ message: 'Field "nope" does not exist' }] });
        return true;
      },
    });
    const err = (await readSource(graphqlSource, {
      ...fast,
      url: `${api.url}/graphql`,
      query,
      records: 'data.items.nodes',
    }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/page 1 .*GraphQL errors: Field "nope" does not exist; check query/);
  });
});
