import { checkUrl, ErrorCode, FatalError, RetryableError, SluiceError, type TaskContext } from '@sluice/core';
import { readBody, request, shown, statusFailure } from '../location/http-request.ts';

/** Characters of a refusing server's answer quoted in the error. */
const QUOTED_CHARS = 300;

export interface Post {
  url: string;
  /** How messages name the URL: Slack's path is its secret, so it is never shown whole. */
  display: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface Posted {
  status: number;
  body: string;
}

/**
 * POSTs once: a failed delivery throws, and the step's retry policy decides whether to try again.
 * No connection, a timeout, 408, 429 and 5xx are RetryableErrors (with the server's Retry-After);
 * any other refusal is fatal and quotes the start of the server's answer. The URL and every
 * redirect are checked against the network policy; messages show `display`, never the URL.
 */
export async function postOnce(ctx: TaskContext<unknown>, p: Post, where: string): Promise<Posted> {
  const secretShown = shown(p.url);
  const masking = p.display !== secretShown;
  const hide = (text: string) => text.replaceAll(p.url, p.display).replaceAll(secretShown, p.display);
  try {
    await checkUrl(ctx, p.url, where);
    const send = async () => {
      const opened = await request(
        p.url,
        {
          method: 'POST',
          headers: p.headers,
          body: p.body,
          redirects: (to) => checkUrl(ctx, to, `${where} (a redirect)`),
        },
        p.timeoutMs,
        ctx.signal,
        where,
      );
      // A 5xx counts against the host's circuit; other refusals are about what was sent.
      if (opened.response.status >= 500) {
        opened.cancel();
        throw statusFailure(opened.response, p.url, where, WORDING);
      }
      return opened;
    };
    const opened = ctx.guardConnect ? await ctx.guardConnect(endpoint(p.url), send) : await send();
    const res = opened.response;
    const text = (await readBody(opened)).toString('utf8');
    if (res.ok) return { status: res.status, body: text };
    const failure = statusFailure(res, p.url, where, WORDING);
    if (failure.retryable) throw failure;
    const answer = text.trim().slice(0, QUOTED_CHARS);
    throw new FatalError(
      `${where}: ${p.display} refused the notification: HTTP ${res.status}${answer ? `: ${answer}` : ''}; ` +
        'check the URL, the headers and what the receiver expects',
      { code: ErrorCode.TASK_FAILED },
    );
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw masking ? rewrap(err, hide) : err;
  }
}

const WORDING = { resource: 'endpoint', access: 'headers (or the credential)', request: 'headers' } as const;

function endpoint(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port === '' ? (u.protocol === 'https:' ? '443' : '80') : u.port}`;
}

/**
 * The same error with its message passed through `hide` and without its cause, which may quote the
 * URL (fetch's errors do). Anything else becomes an error that names only what it was.
 */
function rewrap(err: unknown, hide: (text: string) => string): SluiceError {
  if (!(err instanceof SluiceError))
    return new SluiceError(ErrorCode.TASK_FAILED, hide(err instanceof Error ? err.message : String(err)));
  const message = hide(err.message);
  if (err instanceof RetryableError)
    return new RetryableError(message, {
      code: err.code,
      ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
    });
  return new SluiceError(err.code, message, { retryable: err.retryable });
}
