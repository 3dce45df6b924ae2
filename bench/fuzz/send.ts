/**
 * Sending a FuzzRequest: in-process through Fastify's inject (property tests) or over HTTP to a
 * live server (the campaign), with the URL exactly as generated (bad percent-encoding included).
 */
import { request } from 'node:http';
import type { Answer } from './oracle.ts';
import type { FuzzRequest, Role } from './rest.ts';

/** A token with `alg: none` claiming the admin role: must be refused, never believed. */
export const FORGED_TOKEN =
  'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsInVzZXJuYW1lIjoiYWRtaW4iLCJyb2xlIjoiYWRtaW4ifQ.';

export type Tokens = Record<Exclude<Role, 'none' | 'forged'>, string>;

const headersFor = (r: FuzzRequest, tokens: Tokens): Record<string, string> => {
  const token = r.role === 'none' ? null : r.role === 'forged' ? FORGED_TOKEN : tokens[r.role];
  return {
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(r.contentType ? { 'content-type': r.contentType } : {}),
  };
};

export type Send = (r: FuzzRequest) => Promise<Answer>;

interface Injectable {
  inject(o: {
    method: string;
    url: string;
    headers: Record<string, string>;
    payload?: string | Buffer;
  }): Promise<{ statusCode: number; body: string }>;
}

/** Through `app.inject`: no sockets, the same routing, hooks and error handlers. */
export function injectSender(app: Injectable, tokens: () => Tokens): Send {
  return async (r) => {
    const t0 = Date.now();
    const res = await app.inject({
      method: r.method,
      url: r.url,
      headers: headersFor(r, tokens()),
      ...(r.body === undefined ? {} : { payload: r.body }),
    });
    return { status: res.statusCode, text: res.body, ms: Date.now() - t0 };
  };
}

/**
 * Over HTTP/1.1 to `base` (http://host:port). A connection the server drops counts as status 0,
 * which the oracle reads as a 5xx; an answer slower than `timeoutMs` is awaited up to 6× as long.
 */
export function httpSender(base: string, tokens: () => Tokens, timeoutMs = 30_000): Send {
  const u = new URL(base);
  return (r) =>
    new Promise((done) => {
      const t0 = Date.now();
      const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          method: r.method,
          path: r.url,
          headers: { ...headersFor(r, tokens()), ...(body ? { 'content-length': String(body.length) } : {}) },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            done({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
              ms: Date.now() - t0,
            }),
          );
          res.on('error', (e) =>
            done({ status: 0, text: `response error: ${e.message}`, ms: Date.now() - t0 }),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
      req.on('error', (e) => done({ status: 0, text: `request error: ${e.message}`, ms: Date.now() - t0 }));
      req.end(body);
    });
}
