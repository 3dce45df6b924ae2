import { ErrorCode, FatalError, RetryableError, SluiceError } from '@sluice/core';
import type { HttpOptions } from './options.ts';

/** @defaultValue of `http.timeoutMs` when the config has no `http` group (the schema fills it otherwise). */
export const HTTP_DEFAULTS = { timeoutMs: 30_000 } as const satisfies Partial<HttpOptions>;

/**
 * A URL as messages show it: without its query, which often carries a signature or a token
 * (presigned S3 links, `?access_token=`), and without user info.
 */
export function shown(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search === '' ? '' : '?…'}`;
  } catch {
    return url.replace(/[?#].*$/, '?…');
  }
}

/** What `request` sends: a method, headers, and a body for the methods that take one. */
export interface RequestInit {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array | undefined;
  /**
   * Checks each URL a redirect leads to before it is followed (the network policy: a server's
   * answer must not send a step where its config could not). Without it fetch follows redirects.
   */
  redirects?: (to: string) => Promise<unknown>;
}

/** Redirects followed at most, as browsers and fetch do. */
const MAX_REDIRECTS = 20;
const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** An open response whose body is read through `chunks`, each wait for bytes bounded by the timeout. */
export interface Opened {
  readonly response: Response;
  chunks(): AsyncGenerator<Uint8Array>;
  /** Drops the response (its body unread or partly read). */
  cancel(): void;
}

/**
 * Sends one request. The timeout bounds the wait for the response and then every wait for the
 * next piece of its body, so a server that stalls mid-file fails instead of hanging the step.
 */
export async function request(
  url: string,
  init: RequestInit,
  timeoutMs: number,
  signal: AbortSignal,
  where: string,
): Promise<Opened> {
  signal.throwIfAborted();
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
  };
  const stop = () => controller.abort(signal.reason);
  signal.addEventListener('abort', stop, { once: true });
  const done = () => {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  };
  const failed = (err: unknown, doing: string): unknown => {
    done();
    if (signal.aborted) return signal.reason;
    if (timedOut) {
      return new RetryableError(
        `${where}: ${shown(url)}: no ${doing} within ${timeoutMs} ms; the server is slow or stalled ` +
          '(raise http.timeoutMs if it is only slow)',
        { cause: err },
      );
    }
    return networkFailure(err, url, doing, where, Object.values(init.headers));
  };
  arm();
  let response: Response;
  try {
    response = init.redirects
      ? await following(url, init, init.redirects, controller.signal, where)
      : await fetch(url, {
          method: init.method,
          headers: init.headers,
          ...(init.body === undefined ? {} : { body: init.body }),
          signal: controller.signal,
          redirect: 'follow',
        });
  } catch (err) {
    if (err instanceof SluiceError) {
      done();
      throw err;
    }
    throw failed(err, 'response');
  }
  return {
    response,
    async *chunks() {
      const reader = response.body?.getReader();
      if (reader === undefined) {
        done();
        return;
      }
      try {
        for (;;) {
          arm();
          let next: Awaited<ReturnType<typeof reader.read>>;
          try {
            next = await reader.read();
          } catch (err) {
            throw failed(err, 'bytes');
          }
          if (next.done) return;
          yield next.value;
        }
      } finally {
        done();
        reader.cancel().catch(() => undefined);
      }
    },
    cancel() {
      done();
      response.body?.cancel().catch(() => undefined);
    },
  };
}

/**
 * fetch with each redirect checked before it is followed: 303 (and 301/302 after a POST) turn the
 * request into a GET without a body, and credentials are not sent on to another origin.
 */
async function following(
  url: string,
  init: RequestInit,
  check: (to: string) => Promise<unknown>,
  signal: AbortSignal,
  where: string,
): Promise<Response> {
  let at = url;
  let method = init.method;
  let body = init.body;
  let headers = init.headers;
  for (let hop = 0; ; hop++) {
    const response = await fetch(at, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal,
      redirect: 'manual',
    });
    const location = response.headers.get('location');
    if (!REDIRECT.has(response.status) || location === null) return response;
    response.body?.cancel().catch(() => undefined);
    if (hop >= MAX_REDIRECTS)
      throw new SluiceError(
        ErrorCode.CONFIG,
        `${where}: ${shown(url)} redirected more than ${MAX_REDIRECTS} times`,
      );
    const next = new URL(location, at);
    await check(next.toString());
    if (
      response.status === 303 ||
      ((response.status === 301 || response.status === 302) && method === 'POST')
    ) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
    }
    if (next.origin !== new URL(at).origin)
      headers = Object.fromEntries(
        Object.entries(headers).filter(
          ([k]) => !['authorization', 'cookie', 'proxy-authorization'].includes(k.toLowerCase()),
        ),
      );
    at = next.toString();
  }
}

/**
 * A request that did not get an answer: a retryable CONNECTION failure, or CONFIG for a name that
 * does not resolve or a request that could not be built. `headers` are the values sent, masked
 * wherever a message repeats them: fetch quotes an invalid header value whole, token included.
 */
export function networkFailure(
  err: unknown,
  url: string,
  doing: string,
  where: string,
  headers: readonly string[] = [],
): SluiceError {
  if (err instanceof SluiceError) return err;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  // Also as fetch normalises a value (trimmed) before it quotes it.
  const secrets = headers.flatMap((v) => [v, v.trim()]).filter((v) => v.length >= 4);
  const masked = (text: string) => secrets.reduce((t, value) => t.replaceAll(value, '***'), text);
  // fetch builds the request before connecting: a TypeError without a network cause is the
  // request itself (a line break in a token or header), which no retry can fix.
  if (err instanceof TypeError && cause === undefined) {
    return new FatalError(
      `${where}: ${shown(url)}: the request cannot be sent (${masked(err.message)}); check http.headers ` +
        'and http.bearerToken for line breaks or other characters HTTP does not allow',
      { code: ErrorCode.CONFIG },
    );
  }
  if (cause?.code === 'ENOTFOUND') {
    return new FatalError(`${where}: ${shown(url)}: the host is not found; check the URL`, {
      code: ErrorCode.CONFIG,
      cause: err,
    });
  }
  const detail = masked(cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)));
  return new RetryableError(
    `${where}: ${shown(url)}: the connection failed while waiting for ${doing} (${detail})`,
    {
      cause: err,
    },
  );
}

/** What statusFailure's messages call the resource and the options that set access to it. */
export interface StatusWording {
  /** @defaultValue 'file' */
  resource: string;
  /** @defaultValue 'http.bearerToken or http.headers' */
  access: string;
  /** @defaultValue 'http.headers' */
  request: string;
}

const FILE_WORDING = {
  resource: 'file',
  access: 'http.bearerToken or http.headers',
  request: 'http.headers',
} as const satisfies StatusWording;

/** An answer that is not the file: NOT_FOUND, CONFIG (refused, bad request) or retryable (5xx, 429, 408). */
export function statusFailure(
  response: Response,
  url: string,
  where: string,
  wording: StatusWording = FILE_WORDING,
): SluiceError {
  const status = `HTTP ${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}`;
  const at = `${where}: ${shown(url)}`;
  switch (response.status) {
    case 404:
    case 410:
      return new SluiceError(
        ErrorCode.NOT_FOUND,
        `${where}: ${wording.resource} not found: ${shown(url)} (${status})`,
      );
    case 401:
    case 403:
      return new FatalError(
        `${at}: the server refused access (${status}); check ${wording.access} in the config or its credential`,
        { code: ErrorCode.CONFIG },
      );
    case 408:
      return retryable(response, `${at}: the server is busy (${status}); try again later`);
    case 429:
      // RATE_LIMITED, not CONNECTION: a host that asks to slow down is up, and must not open its circuit.
      return retryable(
        response,
        `${at}: the server is busy (${status}); try again later`,
        ErrorCode.RATE_LIMITED,
      );
  }
  if (response.status >= 500)
    return retryable(response, `${at}: the server failed (${status}); try again later`);
  return new FatalError(`${at}: the server answered ${status}; check the URL and ${wording.request}`, {
    code: ErrorCode.CONFIG,
  });
}

function retryable(response: Response, message: string, code?: ErrorCode): RetryableError {
  const after = retryAfterMs(response.headers.get('retry-after'));
  return new RetryableError(message, {
    ...(after === undefined ? {} : { retryAfterMs: after }),
    ...(code === undefined ? {} : { code }),
  });
}

/** A `Retry-After` header as a wait: delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The whole body of an opened response (each wait for bytes bounded by the request's timeout). */
export async function readBody(opened: Opened): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of opened.chunks())
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  return Buffer.concat(parts);
}
