import type { Json, Row } from '@sluice/core';
import { afterEach, describe, expect, it } from 'vitest';
import { readSource } from '../../test/harness.ts';
import { type Api, type ApiOptions, send, startApi } from '../../test/http-api.ts';
import { retryAfterMs } from '../location/http-request.ts';
import { linkNext } from './paginate.ts';
import { httpSource } from './source.ts';

const records = Array.from({ length: 5 }, (_, i) => ({
  id: i + 1,
  name: `n${i + 1}`,
  updated_at: `2026-01-0${i + 1}`,
}));

const apis: Api[] = [];
afterEach(async () => {
  await Promise.all(apis.splice(0).map((a) => a.close()));
});
async function api(rows: Row[] = records, o: ApiOptions = {}): Promise<Api> {
  const a = await startApi(rows, o);
  apis.push(a);
  return a;
}
const fast = { retries: { attempts: 3, initialDelayMs: 10, maxDelayMs: 50 } };
const read = (config: Record<string, unknown>, opts: Parameters<typeof readSource>[2] = {}) =>
  readSource(httpSource, { ...fast, ...config }, opts);
// Entries only: the source line a parser sets is a symbol, not data.
const plain = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r)));

describe('http source: pagination', () => {
  const styles: [string, Record<string, unknown>][] = [
    ['page', { url: '/page', records: 'data', pagination: { type: 'page', size: 2, sizeParam: 'per_page' } }],
    ['offset', { url: '/offset', pagination: { type: 'offset', size: 2 } }],
    [
      'cursor',
      { url: '/cursor', records: 'items', pagination: { type: 'cursor', path: 'meta.next_cursor' } },
    ],
    ['link', { url: '/link', pagination: { type: 'link' } }],
    ['next_url', { url: '/next', records: 'results', pagination: { type: 'next_url', path: 'links.next' } }],
    ['page, NDJSON pages', { url: '/ndjson', pagination: { type: 'page' } }],
    ['none: one array', { url: '/one' }],
  ];
  for (const [name, config] of styles) {
    it(`${name}: reads every record once, in order`, async () => {
      const a = await api();
      const r = await read({ ...config, url: a.url + (config.url as string) });
      expect(plain(r.rows)).toEqual(records);
      expect(r.harness.quarantined).toEqual([]);
    });
  }

  it('CSV pages: records with text values', async () => {
    const a = await api();
    const r = await read({ url: `${a.url}/csv`, pagination: { type: 'page' } });
    expect(plain(r.rows)).toEqual(records.map((x) => ({ ...x, id: String(x.id) })));
  });

  it('stops at maxPages', async () => {
    const a = await api();
    const r = await read({ url: `${a.url}/link`, pagination: { type: 'link', maxPages: 2 } });
    expect(r.rows.map((x) => x.id)).toEqual([1, 2, 3, 4]);
    expect(a.seen).toHaveLength(2);
  });

  it('resumes at the page after the last one committed, asking for no page twice', async () => {
    const a = await api();
    const config = {
      url: `${a.url}/cursor`,
      records: 'items',
      pagination: { type: 'cursor', path: 'meta.next_cursor' },
    };
    const first = await read(config, { maxBatches: 1 });
    const rest = await read(config, { resumeFrom: first.positions[0]! });
    expect(plain([...first.rows, ...rest.rows])).toEqual(records);
    expect(a.seen.map((s) => s.url.searchParams.get('cursor'))).toEqual([null, '2', '4']);
  });

  it('keeps numbers a double would change exact, as text', async () => {
    const a = await api([], {
      intercept: (_, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('[{"id": 12345678901234567890, "n": 1.5, "s": "12345678901234567890"}]');
        return true;
      },
    });
    const r = await read({ url: `${a.url}/one` });
    expect(r.rows).toEqual([{ id: '12345678901234567890', n: 1.5, s: '12345678901234567890' }]);
  });

  it('parses Link headers', () => {
    expect(linkNext('<https://x/a?page=2>; rel="next", <https://x/a?page=9>; rel="last"')).toBe(
      'https://x/a?page=2',
    );
    expect(linkNext('<https://x/a?page=1>; rel="prev first"')).toBeUndefined();
    expect(linkNext('</b?c=1>; title="x"; rel=next')).toBe('/b?c=1');
  });
});

describe('http source: auth', () => {
  const cases: [string, Record<string, unknown>, (h: Record<string, unknown>, url: URL) => boolean][] = [
    ['bearer', { type: 'bearer', token: 'tok-abc' }, (h) => h.authorization === 'Bearer tok-abc'],
    [
      'basic',
      { type: 'basic', username: 'ana', password: 'pw:1' },
      (h) => h.authorization === `Basic ${Buffer.from('ana:pw:1').toString('base64')}`,
    ],
    ['apiKey in a header', { type: 'apiKey', key: 'k-123', name: 'X-Key' }, (h) => h['x-key'] === 'k-123'],
    [
      'apiKey in the query',
      { type: 'apiKey', key: 'k-123', in: 'query', name: 'api_key' },
      (_, u) => u.searchParams.get('api_key') === 'k-123',
    ],
  ];
  for (const [name, auth, ok] of cases) {
    it(`${name}: sent with every page; refused without`, async () => {
      const a = await api(records, { authorized: (s) => ok(s.headers, s.url) });
      const config = { url: `${a.url}/link`, pagination: { type: 'link' } };
      const r = await read({ ...config, auth });
      expect(r.rows).toHaveLength(5);
      // The test API's next links echo the query, key included: checkpoints must not keep it.
      expect(JSON.stringify(r.positions)).not.toMatch(/k-123|tok-abc|pw:1|YW5hOnB3OjE/);
      const err = await read(config).catch((e: Error) => e);
      expect(String(err)).toMatch(/refused access \(HTTP 401/);
    });
  }

  it('oauth2: fetches a token, reuses it, fetches a new one before it expires', async () => {
    const a = await api(records, { oauth: { clientId: 'cid', clientSecret: 'csecret-1', expiresIn: 1 } });
    const auth = { type: 'oauth2', tokenUrl: `${a.url}/token`, clientId: 'cid', clientSecret: 'csecret-1' };
    // 4 requests 0.4 s apart: the last at 1.2 s, past the first token's second of life.
    const r = await read({
      url: `${a.url}/page`,
      records: 'data',
      pagination: { type: 'page' },
      auth,
      rateLimit: 2.5,
    });
    expect(r.rows).toHaveLength(5);
    expect(a.issued()).toBeGreaterThanOrEqual(2);
    expect(a.seen).toHaveLength(4); // 3 pages and the empty one: no request was refused
    expect(new Set(a.seen.map((s) => s.headers.authorization)).size).toBe(a.issued());
  });

  it('oauth2: a token the API stops taking is replaced once; bad client credentials fail clearly, masked', async () => {
    let revoke = true;
    const a = await api(records, {
      oauth: { clientId: 'cid', clientSecret: 'csecret-1', expiresIn: 3600 },
      intercept: (s, res) => {
        if (!(revoke && s.headers.authorization === 'Bearer tok-1')) return false;
        revoke = false;
        send(res, 401, { error: 'token revoked' });
        return true;
      },
    });
    const auth = {
      type: 'oauth2',
      tokenUrl: `${a.url}/token`,
      clientId: 'cid',
      clientSecret: 'csecret-1',
      clientAuth: 'body',
    };
    const r = await read({ url: `${a.url}/one`, auth });
    expect(r.rows).toHaveLength(5);
    expect(a.issued()).toBe(2);
    const err = (await read({ url: `${a.url}/one`, auth: { ...auth, clientSecret: 'wrong-secret' } }).catch(
      (e: Error) => e,
    )) as Error;
    expect(err.message).toMatch(/token endpoint.*refused the client \(HTTP 401: .*invalid_client/);
    expect(err.message).not.toContain('wrong-secret');
  });

  it('connection check: one request with the auth, an OAuth2 token fetched first; refusals say so, masked', async () => {
    const a = await api(records, { oauth: { clientId: 'cid', clientSecret: 'csecret-1', expiresIn: 60 } });
    const ctx = { signal: new AbortController().signal, baseDir: '.', stepId: 'check' };
    const auth = { type: 'oauth2', tokenUrl: `${a.url}/token`, clientId: 'cid', clientSecret: 'csecret-1' };
    const check = (cfg: Record<string, unknown>) =>
      httpSource.connection!.check({ timeoutMs: 5000, ...cfg } as never, ctx);
    expect(await check({ url: `${a.url}/one`, auth })).toMatch(
      /\/one answered HTTP 200 \(\d+ bytes\) with oauth2 auth/,
    );
    expect(a.seen).toHaveLength(1);
    const err = (await check({ url: `${a.url}/one`, auth: { type: 'bearer', token: 'bad-token-9' } }).catch(
      (e: Error) => e,
    )) as Error;
    expect(err.message).toMatch(/refused access \(HTTP 401/);
    expect(err.message).not.toContain('bad-token-9');
  });

  it('refuses an auth type without its secret, at its path', () => {
    expect(
      httpSource.check?.({ url: 'http://x', auth: { type: 'bearer' } } as never, { params: {} }),
    ).toEqual([
      { path: 'auth.token', message: expect.stringMatching(/is required when auth.type is bearer/) },
    ]);
  });
});

describe('http source: resilience', () => {
  it('429 with Retry-After: waits what the server asks, then reads on', async () => {
    let t429 = 0;
    const a = await api(records, {
      intercept: (_, res, n) => {
        if (n !== 2) return false;
        t429 = Date.now();
        send(res, 429, { error: 'slow down' }, { 'Retry-After': '1' });
        return true;
      },
    });
    const r = await read({ url: `${a.url}/link`, pagination: { type: 'link' } });
    expect(r.rows).toHaveLength(5);
    expect(a.seen[2]!.at - t429).toBeGreaterThanOrEqual(950);
    expect(r.harness.logs.join('\n')).toMatch(/HTTP 429.*try 2 of 3 in 1000 ms/);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Sun, 06 Dec 2026 12:00:02 GMT', now)).toBe(2000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });

  it('a 500 then success: the page is asked again', async () => {
    const a = await api(records, {
      intercept: (_, res, n) => {
        if (n === 1) send(res, 500, { error: 'boom' });
        return n === 1;
      },
    });
    const r = await read({ url: `${a.url}/one` });
    expect(r.rows).toHaveLength(5);
    expect(a.seen).toHaveLength(2);
  });

  it('a server that does not answer: each try times out, then the step fails saying so', async () => {
    const a = await api(records, { intercept: () => true }); // never answers
    const t0 = Date.now();
    const err = (await read({
      url: `${a.url}/one?token=secret-in-url`,
      timeoutMs: 150,
      retries: { attempts: 2, initialDelayMs: 10, maxDelayMs: 10 },
    }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/page 1: http:\/\/127\.0\.0\.1:\d+\/one\?…: no response within 150 ms/);
    expect(err.message).not.toContain('secret-in-url');
    expect(a.seen).toHaveLength(2);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('a malformed JSON page fails the step, naming the page (masked) and where it broke', async () => {
    const a = await api(records, {
      intercept: (s, res) => {
        if (s.url.searchParams.get('page') !== '2') return false;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"data": [{"id": 3},\n {"id": }]}');
        return true;
      },
    });
    const err = (await read({
      url: `${a.url}/page?key=hidden-key`,
      records: 'data',
      pagination: { type: 'page' },
    }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(
      /page 2 \(http:\/\/127\.0\.0\.1:\d+\/page\?…\) is not valid JSON: .*position 29 \(line 2, column 9\)/,
    );
    expect(err.message).not.toContain('hidden-key');
  });

  it('rateLimit: requests are never closer than 1/rateLimit seconds', async () => {
    const a = await api();
    await read({ url: `${a.url}/link`, pagination: { type: 'link' }, rateLimit: 20 });
    const gaps = a.seen.slice(1).map((s, i) => s.at - a.seen[i]!.at);
    expect(gaps).toHaveLength(2);
    // As the server sees them arrive (Date.now()'s milliseconds: 50 can read as 49).
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(49);
  });
});

describe('http source: incremental', () => {
  it('sends the highest value of the last run, and reads only what is newer', async () => {
    const rows: Row[] = records.slice(0, 3);
    const a = await api(rows);
    const state = new Map<string, Json>();
    const config = {
      url: `${a.url}/page`,
      records: 'data',
      pagination: { type: 'page' },
      incremental: { field: 'updated_at', param: 'since' },
    };
    expect((await read(config, { state })).rows).toHaveLength(3);
    expect(a.seen[0]!.url.searchParams.get('since')).toBeNull();
    rows.push(...records.slice(3));
    const second = await read(config, { state });
    expect(second.rows.map((r) => r.id)).toEqual([4, 5]);
    expect(a.seen.at(-2)!.url.searchParams.get('since')).toBe('2026-01-03');
    expect(state.get('incremental')).toEqual({ field: 'updated_at', value: '2026-01-05' });
  });
});

describe('http source: outbound network policy', () => {
  it('refuses a cloud metadata address, typed or handed over by a next link', async () => {
    await expect(read({ url: 'http://169.254.169.254/latest/meta-data/' })).rejects.toMatchObject({
      code: 'HOST_FORBIDDEN',
      message: expect.stringMatching(/169\.254\.169\.254/),
    });
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('link', '<http://169.254.169.254/latest/>; rel="next"');
      res.end('[{"id":1}]');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      await expect(
        read({ url: `http://127.0.0.1:${port}/`, pagination: { type: 'link' } }),
      ).rejects.toMatchObject({ code: 'HOST_FORBIDDEN' });
    } finally {
      server.close();
    }
  });
});
