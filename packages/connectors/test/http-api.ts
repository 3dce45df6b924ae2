import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Row } from '@sluice/core';

/** A request the API saw. */
export interface Seen {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

/**
 * Answers a request instead of the API (a fault, a refusal); returns true when it answered.
 * `n` counts the data requests (not the token endpoint's), from 1.
 */
export type Intercept = (req: Seen, res: ServerResponse, n: number) => boolean | Promise<boolean>;

export interface ApiOptions {
  /** Records per page when the request names no size. @defaultValue 2 */
  pageSize?: number;
  intercept?: Intercept;
  /** Required auth: a check of the request's headers and URL (the token endpoint is open). */
  authorized?: (req: Seen) => boolean;
  /** OAuth2 client credentials the token endpoint takes, and the tokens' lifetime in seconds. */
  oauth?: { clientId: string; clientSecret: string; expiresIn: number };
}

/**
 * A real HTTP server (node:http on port 0) serving `records` in every pagination style the http
 * source knows, plus a GraphQL endpoint and an OAuth2 token endpoint:
 * `/page?page&per_page` ({data}), `/offset?offset&limit` (array), `/cursor?cursor` ({items, meta:
 * {next_cursor}}), `/link?page` (array + Link header), `/next?page` ({results, links: {next}}),
 * `/ndjson?page`, `/csv?page`, `/one` (all in one array), POST `/graphql`, POST `/token`.
 * `?since=` keeps records whose updated_at is greater.
 */
export async function startApi(records: Row[], o: ApiOptions = {}) {
  const seen: Seen[] = [];
  const tokens = new Map<string, number>();
  let issued = 0;
  let n = 0;
  const server = createServer(async (req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const s: Seen = {
      method: req.method ?? 'GET',
      url: new URL(req.url ?? '/', 'http://x'),
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      at,
    };
    if (s.url.pathname === '/token') return token(s, res);
    seen.push(s);
    n++;
    if (o.intercept && (await o.intercept(s, res, n))) return;
    if (o.authorized && !o.authorized(s)) return send(res, 401, { error: 'unauthorized' });
    if (o.oauth) {
      const bearer = /^Bearer (.+)$/.exec(s.headers.authorization ?? '')?.[1];
      const expires = bearer === undefined ? undefined : tokens.get(bearer);
      if (expires === undefined || Date.now() > expires) return send(res, 401, { error: 'invalid_token' });
    }
    serve(s, res);
  });

  const token = (s: Seen, res: ServerResponse) => {
    const form = new URLSearchParams(s.body);
    const basic = /^Basic (.+)$/.exec(s.headers.authorization ?? '')?.[1];
    const [id, secret] = basic
      ? Buffer.from(basic, 'base64').toString().split(':').map(decodeURIComponent)
      : [form.get('client_id'), form.get('client_secret')];
    if (
      !o.oauth ||
      form.get('grant_type') !== 'client_credentials' ||
      id !== o.oauth.clientId ||
      secret !== o.oauth.clientSecret
    )
      return send(res, 401, { error: 'invalid_client' });
    const value = `tok-${++issued}`;
    tokens.set(value, Date.now() + o.oauth.expiresIn * 1000);
    send(res, 200, { access_token: value, token_type: 'Bearer', expires_in: o.oauth.expiresIn });
  };

  const serve = (s: Seen, res: ServerResponse) => {
    const q = s.url.searchParams;
    const since = q.get('since');
    const all = since === null ? records : records.filter((r) => String(r.updated_at) > since);
    const size = Number(q.get('per_page') ?? q.get('limit') ?? o.pageSize ?? 2);
    const slice = (from: number) => all.slice(from, from + size);
    const page = Number(q.get('page') ?? 1);
    // Next links keep the request's other parameters (per_page), as GitHub's do.
    const pageUrl = (n: number, absolute = true) => {
      const u = new URL(s.url.pathname + s.url.search, `http://${s.headers.host}`);
      u.searchParams.set('page', String(n));
      return absolute ? u.toString() : u.pathname + u.search;
    };
    switch (s.url.pathname) {
      case '/one':
        return send(res, 200, all);
      case '/page':
        return send(res, 200, { data: slice((page - 1) * size) });
      case '/offset':
        return send(res, 200, slice(Number(q.get('offset') ?? 0)));
      case '/cursor': {
        const at = Number(q.get('cursor') ?? 0);
        const more = at + size < all.length;
        return send(res, 200, { items: slice(at), meta: { next_cursor: more ? String(at + size) : null } });
      }
      case '/link': {
        const more = page * size < all.length;
        const link = `<${pageUrl(1)}>; rel="first"${more ? `, <${pageUrl(page + 1)}>; rel="next"` : ''}`;
        return send(res, 200, slice((page - 1) * size), { Link: link });
      }
      case '/next': {
        const more = page * size < all.length;
        return send(res, 200, {
          results: slice((page - 1) * size),
          links: { next: more ? pageUrl(page + 1, false) : null },
        });
      }
      case '/ndjson': {
        const text = slice((page - 1) * size)
          .map((r) => `${JSON.stringify(r)}\n`)
          .join('');
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
        return res.end(text);
      }
      case '/csv': {
        const rows = slice((page - 1) * size);
        const cols = Object.keys(records[0] ?? { id: 0 });
        const quote = (v: unknown) => `"${String(v).replaceAll('"', '""')}"`;
        const text =
          rows.length === 0
            ? ''
            : [cols.join(','), ...rows.map((r) => cols.map((c) => quote(r[c])).join(','))].join('\n');
        res.writeHead(200, { 'Content-Type': 'text/csv' });
        return res.end(text);
      }
      case '/graphql': {
        const { variables } = JSON.parse(s.body) as { variables: { after?: string; first?: number } };
        const at = Number(variables.after ?? 0);
        const first = variables.first ?? size;
        const nodes = all.slice(at, at + first);
        const more = at + first < all.length;
        return send(res, 200, {
          data: {
            items: { nodes, pageInfo: { endCursor: more ? String(at + first) : null, hasNextPage: more } },
          },
        });
      }
    }
    send(res, 404, { error: 'no such route' });
  };

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    /** Tokens the OAuth2 endpoint issued. */
    issued: () => issued,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type Api = Awaited<ReturnType<typeof startApi>>;

export function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * An Intercept that takes rows as an API honouring `Idempotency-Key` would: a JSON array, NDJSON
 * lines or one object per request, kept in `rows`; a request whose key it has seen is answered
 * 200 again and its rows are not taken twice. `refuse` answers a request instead (a 422, say).
 */
export function rowsReceiver(refuse?: Intercept) {
  const rows: Row[] = [];
  const keys = new Set<string>();
  const intercept: Intercept = async (s, res, n) => {
    if (refuse && (await refuse(s, res, n))) return true;
    const key = s.headers['idempotency-key'];
    if (typeof key === 'string' && keys.has(key)) {
      send(res, 200, { duplicate: true });
      return true;
    }
    let got: Row | Row[];
    try {
      got = /ndjson/.test(s.headers['content-type'] ?? '')
        ? s.body
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as Row)
        : (JSON.parse(s.body) as Row | Row[]);
    } catch {
      send(res, 400, { error: 'the body is not JSON' });
      return true;
    }
    const taken = Array.isArray(got) ? got : [got];
    rows.push(...taken);
    if (typeof key === 'string') keys.add(key);
    send(res, 201, { accepted: taken.length });
    return true;
  };
  return { rows, intercept };
}
