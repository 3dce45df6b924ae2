import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ComponentContext,
  checkUrl,
  ErrorCode,
  FatalError,
  growingBackoff,
  type NetContext,
  RetryableError,
  type SluiceError,
  toSluiceError,
} from '@sluice/core';
import { readBody, request, type StatusWording, statusFailure } from '../location/http-request.ts';
import { type Authorizer, authorizer, type HttpAuth, mask } from './auth.ts';

/** What the client needs of a connector's config (see sendingProperties). */
export interface ClientOptions {
  headers?: Record<string, string> | undefined;
  auth?: HttpAuth | undefined;
  timeoutMs: number;
  rateLimit?: number | undefined;
  retries: { attempts: number; initialDelayMs: number; maxDelayMs: number };
}

export interface Sent {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /**
   * True when a 4xx answer other than 401, 403, 408 and 429 is the server's verdict on what was
   * sent (a sink's rows it will not take), returned to the caller rather than thrown. 401 and 403
   * still throw: they are the credentials', whatever was sent.
   */
  refusalIsAnswer?: boolean;
}

/**
 * An answered request: its status was 2xx (or a refusal, see Sent.refusalIsAnswer) and its whole
 * body was read.
 */
export interface Received {
  url: string;
  status: number;
  headers: Headers;
  body: Buffer;
}

/**
 * A server that asks for a longer wait than this is not waited for within the step: the error
 * goes up (retryable, with its retryAfterMs) and the step's own retry decides.
 */
const LONGEST_WAIT_MS = 15 * 60_000;

/**
 * Sends the requests of one step: credentials added, at most `rateLimit` a second, each retried
 * with growing waits (or the server's Retry-After) while its failure is a passing one, each
 * through the circuit breaker of its host. One per step run: it keeps the OAuth2 token and the
 * time of the last request.
 */
/** What the client uses of a component's context (a credential's Test has no step). */
type ClientContext = Pick<ComponentContext<unknown>, 'signal' | 'log' | 'guardConnect'> & NetContext;

export class HttpClient {
  readonly #o: ClientOptions;
  readonly #ctx: ClientContext;
  readonly #where: string;
  readonly #auth: Authorizer;
  readonly #wording: StatusWording;
  #last = Number.NEGATIVE_INFINITY;

  /** `wording` names what a request is about in status errors (a source's `page`, a sink's `request`). */
  constructor(options: ClientOptions, ctx: ClientContext, where: string, wording: StatusWording = WORDING) {
    this.#o = options;
    this.#ctx = ctx;
    this.#where = where;
    this.#wording = wording;
    this.#auth = authorizer(options.auth, {
      timeoutMs: options.timeoutMs,
      where,
      guard: (url, send) => this.#guard(url, send),
    });
  }

  /** Every secret sent so far, for masking messages that may quote them. */
  secrets(): string[] {
    return this.#auth.secrets();
  }

  /**
   * `url` without the query parameter an API key travels in: a next-page link that echoes the key
   * must not carry it into a checkpoint (the key is added again as the request leaves).
   */
  withoutAuth(url: string): string {
    const a = this.#o.auth;
    if (a?.type !== 'apiKey' || a.in !== 'query') return url;
    const u = new URL(url);
    u.searchParams.delete(a.name ?? 'X-API-Key');
    return u.toString();
  }

  /** Masks every secret the client knows of in `text`. */
  masked(text: string): string {
    return mask(text, this.secrets());
  }

  /**
   * Sends `req` until it is answered with 2xx, the tries run out, or the failure is one no retry
   * fixes; `label` names it in messages (`page 3`). Throws what the last try failed with.
   */
  async send(req: Sent, label: string): Promise<Received> {
    const { attempts, initialDelayMs, maxDelayMs } = this.#o.retries;
    let backoff = growingBackoff(initialDelayMs, maxDelayMs).next();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(req, label);
      } catch (err) {
        const signal = this.#ctx.signal;
        if (signal.aborted) throw signal.reason;
        const e = toSluiceError(err);
        if (!e.retryable || attempt >= attempts) throw e;
        const asked = (e as Partial<RetryableError>).retryAfterMs ?? 0;
        if (asked > LONGEST_WAIT_MS) throw e;
        const wait = Math.max(asked, backoff.duration);
        backoff = backoff.next(undefined);
        // The message names the step, the page and its URL already.
        this.#ctx.log.warn(`${e.message}; try ${attempt + 1} of ${attempts} in ${Math.round(wait)} ms`);
        await sleep(wait, undefined, { signal });
      }
    }
  }

  async #once(req: Sent, label: string): Promise<Received> {
    const where = `${this.#where}: ${label}`;
    for (let again = true; ; again = false) {
      // Before the token: a wait after it could outlast the token's life.
      await this.#pace();
      const { url, headers } = await this.#auth.authorize(
        req.url,
        { ...this.#o.headers, ...req.headers },
        this.#ctx.signal,
      );
      // Only the request goes through the host's circuit, not the token fetch before it (which has
      // its own): a circuit lets one probe through when half-open, and a nested call would be refused.
      const opened = await this.#guard(url, async () => {
        const o = await request(
          url,
          {
            method: req.method,
            headers,
            body: req.body,
            // A server's redirect is checked like the URL it answers for.
            redirects: (to) => checkUrl(this.#ctx, to, `${this.#where} (a redirect)`),
          },
          this.#o.timeoutMs,
          this.#ctx.signal,
          where,
        ).finally(() => {
          // The next request is spaced from this one's answer, not its departure: the server
          // had it by then, however long connecting took (measured: the first request of a
          // process reached the server 36 ms after it left, 31 ms before the next one).
          if (this.#o.rateLimit !== undefined) this.#last = performance.now();
        });
        // A 5xx counts against the host; other refusals are the request's, not the host's.
        if (o.response.status >= 500) {
          o.cancel();
          throw this.#failed(statusFailure(o.response, url, where, this.#wording));
        }
        return o;
      });
      const res = opened.response;
      if (res.status === 401 && again && this.#auth.refused()) {
        opened.cancel();
        continue;
      }
      if (!res.ok && !(req.refusalIsAnswer && isRefusal(res.status))) {
        opened.cancel();
        throw this.#failed(statusFailure(res, url, where, this.#wording));
      }
      return {
        url: res.url || req.url,
        status: res.status,
        headers: res.headers,
        body: await readBody(opened),
      };
    }
  }

  /** A status failure with what the server said masked; CONFIG errors stay CONFIG. */
  #failed(e: SluiceError): SluiceError {
    const message = this.masked(e.message);
    if (message === e.message) return e;
    return e.retryable
      ? new RetryableError(message, {
          code: e.code,
          ...((e as RetryableError).retryAfterMs === undefined
            ? {}
            : { retryAfterMs: (e as RetryableError).retryAfterMs as number }),
        })
      : new FatalError(message, { code: e.code ?? ErrorCode.CONFIG });
  }

  /** Waits until one more request keeps within rateLimit (requests at least 1/rateLimit s apart). */
  async #pace(): Promise<void> {
    const rate = this.#o.rateLimit;
    if (rate === undefined) return;
    // A timer may fire up to a millisecond early, and a request leaves a little after #last is
    // taken: a 2 ms margin keeps the gap the server sees at or above 1/rate.
    const gap = 1000 / rate + 2;
    const wait = this.#last + gap - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal: this.#ctx.signal });
    this.#last = performance.now();
  }

  async #guard<T>(url: string, send: () => Promise<T>): Promise<T> {
    // Every URL, the token endpoint's and each next link's too: a server's answer picks them.
    await checkUrl(this.#ctx, url, this.#where);
    const guard = this.#ctx.guardConnect;
    if (guard === undefined) return send();
    const u = new URL(url);
    const port = u.port === '' ? (u.protocol === 'https:' ? '443' : '80') : u.port;
    return guard.call(this.#ctx, `${u.hostname}:${port}`, send) as Promise<T>;
  }
}

/** A 4xx that is about what was sent, not about who sent it or when (see Sent.refusalIsAnswer). */
function isRefusal(status: number): boolean {
  return (
    status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 408 && status !== 429
  );
}

const WORDING = {
  resource: 'page',
  access: 'auth (or headers)',
  request: 'query, headers and body',
} as const;

/** `headers` with each of `defaults` added unless a header of that name (in any case) is there. */
export function withDefaultHeaders(
  headers: Record<string, string> | undefined,
  defaults: Record<string, string>,
): Record<string, string> {
  const out = { ...headers };
  const have = new Set(Object.keys(out).map((k) => k.toLowerCase()));
  for (const [k, v] of Object.entries(defaults)) if (!have.has(k.toLowerCase())) out[k] = v;
  return out;
}
