import { type Static, Type } from '@sinclair/typebox';
import { ErrorCode, FatalError, type Issue, RetryableError } from '@sluice/core';
import { networkFailure, readBody, request, shown, statusFailure } from '../location/http-request.ts';

/**
 * How an HTTP connector (the http and graphql sources, the http sink) proves who it is. One flat
 * object rather than a union per type: forms and the generated reference show one list of fields,
 * and `authIssues` says which ones a type needs, at their paths. Secrets are `writeOnly`.
 */
export const httpAuth = Type.Object(
  {
    type: Type.Union(
      [Type.Literal('bearer'), Type.Literal('basic'), Type.Literal('apiKey'), Type.Literal('oauth2')],
      {
        description:
          'bearer: `Authorization: Bearer <token>`; basic: `Authorization: Basic` from username and password; ' +
          'apiKey: `key` sent in the header or query parameter `name`; oauth2: the client credentials grant, ' +
          'a token fetched from `tokenUrl`, cached and fetched again before it expires.',
      },
    ),
    token: Type.Optional(Type.String({ minLength: 1, writeOnly: true, description: 'bearer: the token.' })),
    username: Type.Optional(Type.String({ description: 'basic: the user name.' })),
    password: Type.Optional(Type.String({ writeOnly: true, description: 'basic: the password.' })),
    key: Type.Optional(Type.String({ minLength: 1, writeOnly: true, description: 'apiKey: the key.' })),
    name: Type.Optional(
      Type.String({
        minLength: 1,
        default: 'X-API-Key',
        description: 'apiKey: the header or query parameter that carries the key.',
        examples: ['X-API-Key', 'api_key'],
      }),
    ),
    in: Type.Optional(
      Type.Union([Type.Literal('header'), Type.Literal('query')], {
        default: 'header',
        description: 'apiKey: where the key goes.',
      }),
    ),
    tokenUrl: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'oauth2: the token endpoint.',
        examples: ['https://auth.example.com/oauth/token'],
      }),
    ),
    clientId: Type.Optional(Type.String({ minLength: 1, description: 'oauth2: the client id.' })),
    clientSecret: Type.Optional(
      Type.String({ minLength: 1, writeOnly: true, description: 'oauth2: the client secret.' }),
    ),
    scope: Type.Optional(Type.String({ description: 'oauth2: the scopes asked for, space-separated.' })),
    audience: Type.Optional(
      Type.String({ description: 'oauth2: the `audience` parameter some providers (Auth0) require.' }),
    ),
    clientAuth: Type.Optional(
      Type.Union([Type.Literal('basic'), Type.Literal('body')], {
        default: 'basic',
        description:
          'oauth2: how the client proves itself to the token endpoint: basic (an Authorization header, ' +
          "RFC 6749's default) or body (client_id and client_secret in the form).",
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'How requests authenticate; secrets usually come from a stored credential.',
    examples: [{ type: 'bearer', token: '${env.GITHUB_TOKEN}' }],
  },
);

export type HttpAuth = Static<typeof httpAuth>;

/**
 * What a stored credential holds for an HTTP connector: its `auth` (a credential's objects merge
 * into the step's one level deep, so a step may name `auth.type` and leave the secret to it).
 */
export const httpCredential = Type.Object({ auth: Type.Optional(httpAuth) }, { additionalProperties: false });

const NEEDS: Record<HttpAuth['type'], readonly (keyof HttpAuth)[]> = {
  bearer: ['token'],
  basic: ['username', 'password'],
  apiKey: ['key'],
  oauth2: ['tokenUrl', 'clientId', 'clientSecret'],
};

/** The fields `auth.type` needs and lacks, at `<path>.<field>`; no I/O (for a definition's `check`). */
export function authIssues(auth: HttpAuth | undefined, path = 'auth'): Issue[] {
  if (auth === undefined) return [];
  return NEEDS[auth.type]
    .filter((field) => auth[field] === undefined)
    .map((field) => ({
      path: `${path}.${field}`,
      message: `is required when ${path}.type is ${auth.type} (put it in the step's credential)`,
    }));
}

/**
 * Adds credentials to requests. Build one per step (it caches an OAuth2 token) with `authorizer`.
 * Callers: `authorize` before each request, `refused` after a 401, `secrets` to mask messages.
 */
export interface Authorizer {
  /**
   * The url and headers to send, credentials added (an OAuth2 token is fetched first when none is
   * cached or it is about to expire). Throws what a request would: CONFIG when the token endpoint
   * refuses the client, retryable when it fails or cannot be reached.
   */
  authorize(
    url: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<{ url: string; headers: Record<string, string> }>;
  /**
   * Call after the server answered 401: drops a cached OAuth2 token. True when sending the request
   * once more may help (a new token will be fetched); the caller sends it again at most once.
   */
  refused(): boolean;
  /** Every secret value sent so far (the OAuth2 token too), for masking messages that may echo them. */
  secrets(): string[];
}

export interface AuthorizerOptions {
  /** Bounds the token request as it bounds the caller's. */
  timeoutMs: number;
  /** Names the step in messages (`step load`). */
  where: string;
  /** Wraps the token request (the step's circuit breaker, say). */
  guard?: <T>(url: string, send: () => Promise<T>) => Promise<T>;
}

/**
 * A token is fetched again this long before it expires (at most a tenth of its lifetime), so a
 * request never leaves with a token that lapses on the way.
 */
const REFRESH_MARGIN_MS = 60_000;

/** An Authorizer for `auth`; with none, requests go as they are. */
export function authorizer(auth: HttpAuth | undefined, options: AuthorizerOptions): Authorizer {
  const fixed = (headers: Record<string, string>) => ({
    authorize: async (url: string, h: Record<string, string>) => ({ url, headers: { ...h, ...headers } }),
    refused: () => false,
    secrets: () => Object.values(headers).filter((v) => v !== ''),
  });
  if (auth === undefined) return fixed({});
  switch (auth.type) {
    case 'bearer':
      return { ...fixed({ Authorization: `Bearer ${auth.token ?? ''}` }), secrets: () => [auth.token ?? ''] };
    case 'basic': {
      const encoded = Buffer.from(`${auth.username ?? ''}:${auth.password ?? ''}`).toString('base64');
      return {
        ...fixed({ Authorization: `Basic ${encoded}` }),
        secrets: () => [encoded, auth.password ?? ''].filter((v) => v !== ''),
      };
    }
    case 'apiKey': {
      const name = auth.name ?? 'X-API-Key';
      const key = auth.key ?? '';
      if ((auth.in ?? 'header') === 'header') return { ...fixed({ [name]: key }), secrets: () => [key] };
      return {
        authorize: async (url, headers) => {
          const u = new URL(url);
          u.searchParams.set(name, key);
          return { url: u.toString(), headers };
        },
        refused: () => false,
        secrets: () => [key],
      };
    }
    case 'oauth2':
      return oauth2(auth, options);
  }
}

interface Token {
  value: string;
  /** When to fetch a new one (ms since the epoch); Infinity when the endpoint gave no lifetime. */
  renewAt: number;
}

function oauth2(auth: HttpAuth, options: AuthorizerOptions): Authorizer {
  const tokenUrl = auth.tokenUrl ?? '';
  let token: Token | undefined;
  let pending: Promise<Token> | undefined;
  const issued: string[] = [];
  const secrets = () => [auth.clientSecret ?? '', ...issued].filter((v) => v !== '');

  const fetchToken = async (signal: AbortSignal): Promise<Token> => {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scope) form.set('scope', auth.scope);
    if (auth.audience) form.set('audience', auth.audience);
    const headers: Record<string, string> = {
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    };
    if ((auth.clientAuth ?? 'basic') === 'basic') {
      // RFC 6749 §2.3.1: each part form-encoded before they are joined.
      const pair = `${encodeURIComponent(auth.clientId ?? '')}:${encodeURIComponent(auth.clientSecret ?? '')}`;
      headers.Authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      form.set('client_id', auth.clientId ?? '');
      form.set('client_secret', auth.clientSecret ?? '');
    }
    const where = `${options.where}: the OAuth2 token endpoint`;
    const send = async () => {
      const opened = await request(
        tokenUrl,
        { method: 'POST', headers, body: form.toString() },
        options.timeoutMs,
        signal,
        where,
      );
      const res = opened.response;
      const body = (await readBody(opened)).toString('utf8');
      if (res.status === 400 || res.status === 401 || res.status === 403) {
        // The endpoint's own words (`invalid_client`, `invalid_scope`) say what to fix; they never hold the secret, but mask it anyway.
        const said = mask(body.slice(0, 300), secrets());
        throw new FatalError(
          `${where}: ${shown(tokenUrl)} refused the client (HTTP ${res.status}: ${said}); check auth.clientId, ` +
            'auth.clientSecret and auth.scope in the credential',
          { code: ErrorCode.CONFIG },
        );
      }
      if (!res.ok)
        throw statusFailure(res, tokenUrl, where, {
          resource: 'token endpoint',
          access: 'auth.clientId and auth.clientSecret',
          request: 'auth.tokenUrl',
        });
      return parseToken(body, res.headers.get('content-type') ?? '', where, tokenUrl);
    };
    try {
      const got = await (options.guard ? options.guard(tokenUrl, send) : send());
      issued.push(got.value);
      return got;
    } catch (err) {
      throw networkFailure(err, tokenUrl, 'a token', where, secrets());
    }
  };

  return {
    async authorize(url, headers, signal) {
      if (token === undefined || Date.now() >= token.renewAt) {
        pending ??= fetchToken(signal).finally(() => {
          pending = undefined;
        });
        token = await pending;
      }
      return { url, headers: { ...headers, Authorization: `Bearer ${token.value}` } };
    },
    refused() {
      token = undefined;
      return true;
    },
    secrets,
  };
}

/** An access token response (RFC 6749 §5.1), JSON or, as some providers send it, a form. */
function parseToken(body: string, type: string, where: string, url: string): Token {
  let fields: Record<string, unknown>;
  try {
    fields = /form-urlencoded/i.test(type)
      ? Object.fromEntries(new URLSearchParams(body))
      : (JSON.parse(body) as Record<string, unknown>);
  } catch {
    throw new RetryableError(`${where}: ${shown(url)} answered something that is not a token (not JSON)`);
  }
  const value = fields?.access_token;
  if (typeof value !== 'string' || value === '')
    throw new FatalError(`${where}: ${shown(url)} answered without an access_token; check auth.tokenUrl`, {
      code: ErrorCode.CONFIG,
    });
  const lifetime = Number(fields.expires_in) * 1000;
  const renewAt =
    Number.isFinite(lifetime) && lifetime > 0
      ? Date.now() + lifetime - Math.min(REFRESH_MARGIN_MS, lifetime / 10)
      : Number.POSITIVE_INFINITY;
  return { value, renewAt };
}

/** `text` with every secret in it replaced by `***`. */
export function mask(text: string, secrets: readonly string[]): string {
  return secrets
    .filter((s) => s.length >= 4)
    .sort((a, b) => b.length - a.length)
    .reduce((t, s) => t.replaceAll(s, '***'), text);
}
