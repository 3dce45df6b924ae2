import { type TObject, Type } from '@sinclair/typebox';
import type { ConnectionCheck, ConnectionCheckContext } from '@sluice/core';
import { shown } from '../location/http-request.ts';
import { httpAuth } from './auth.ts';
import { HttpClient, type Sent } from './client.ts';

/** The fields a connection check of an HTTP connector needs: where, and how it authenticates. */
const checkConfig = Type.Object({
  url: Type.String({ minLength: 1 }),
  headers: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String())),
  auth: Type.Optional(httpAuth),
  timeoutMs: Type.Integer({ minimum: 100, default: 30_000 }),
});

/**
 * A check that sends one request (`probe` builds it from the url) with the config's auth, an
 * OAuth2 token fetched first, and no retry: the credentials page shows at once whether the
 * endpoint answers and takes the credentials. `probe` must change nothing: a source's reads, the
 * sink's OPTIONS.
 */
export function httpConnection(
  probe: (url: string) => Sent,
  what: string,
): ConnectionCheck<TObject<(typeof checkConfig)['properties']>> {
  return {
    config: checkConfig,
    async check(cfg, ctx: ConnectionCheckContext) {
      const log = { debug() {}, info() {}, warn() {}, error() {} };
      const client = new HttpClient(
        { ...cfg, retries: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 } },
        { signal: ctx.signal, log, network: ctx.network },
        `${what} check`,
      );
      const got = await client.send(probe(cfg.url), 'request');
      return `${shown(cfg.url)} answered HTTP ${got.status} (${got.body.length} bytes)${cfg.auth ? ` with ${cfg.auth.type} auth` : ''}`;
    },
  };
}
