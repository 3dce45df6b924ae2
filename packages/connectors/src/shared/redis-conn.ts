import { Type } from '@sinclair/typebox';
import {
  type ConnectionCheck,
  checkHost,
  ErrorCode,
  FatalError,
  type NetContext,
  RetryableError,
  type SluiceError,
} from '@sluice/core';
import type { RedisClientType, RedisDefaultModules } from 'redis';
import { type DialOptions, maskUrl, serviceUrl, socketFailure } from './db-url.ts';

/** One Redis client library serves the project (node-redis): the lookup transform and redis-stream. */
// biome-ignore lint/complexity/noBannedTypes: node-redis's own spelling of "no functions, no scripts, no type mapping".
export type RedisClient = RedisClientType<RedisDefaultModules, {}, {}, 3, {}>;

/** Where a connection goes, for messages: never the password. */
export interface RedisTarget {
  /** `host:port`. */
  address: string;
  /** The user named in the url (`default` when none is). */
  user: string;
  /** The url with its password replaced by `***`. */
  url: string;
}

export interface RedisConnectOptions extends DialOptions {
  /**
   * Told of errors the client reports between commands (a dropped socket), as `Redis at host:port: …`;
   * they also fail the next command.
   */
  onError?: (message: string) => void;
}

let module: typeof import('redis') | undefined;

/** node-redis, loaded on first use: flows without Redis never pay for loading it. */
async function loadRedis(): Promise<typeof import('redis')> {
  module ??= await import('redis');
  return module;
}

/** The target of a redis:// (or rediss://) url; a CONFIG error naming `with.url` when it is not one. */
export function parseRedisUrl(url: string, where: string): RedisTarget & { host: string } {
  const u = serviceUrl(url, where, ['redis', 'rediss'], 'redis://user:password@host:6379/0');
  const host = u.hostname || '127.0.0.1';
  return {
    host,
    address: `${host}:${u.port || '6379'}`,
    user: decodeURIComponent(u.username) || 'default',
    url: maskUrl(url),
  };
}

/**
 * Opens one connection after the network policy allowed the host. No reconnecting behind the
 * step's back: a lost server fails the command in flight, and the step's retry policy and circuit
 * breaker decide what happens next.
 */
export async function connectRedis(
  url: string,
  opts: RedisConnectOptions,
): Promise<{ client: RedisClient; target: RedisTarget }> {
  const { host, ...target } = parseRedisUrl(url, opts.where);
  const open = async (): Promise<RedisClient> => {
    // node-redis resolves the name again when it connects: a DNS answer that changes in between is
    // not checked (residual risk, see core's net-check.ts).
    await checkHost(opts.net ?? {}, decodeURIComponent(host), `${opts.where} url`);
    const { createClient } = await loadRedis();
    const c = createClient({
      url,
      // CLIENT LIST names the component holding a connection (no spaces allowed).
      name: opts.where.replace(/\s+/g, '-'),
      socket: { reconnectStrategy: false, connectTimeout: 15_000 },
    });
    // Without a listener an 'error' event would crash the process.
    c.on('error', (err: Error) =>
      opts.onError?.(`Redis at ${target.address}: ${maskSecret(err.message, url)}`),
    );
    try {
      await c.connect();
    } catch (err) {
      c.destroy();
      throw redisError(err, opts.where, target, 'connect');
    }
    return c;
  };
  const client = await (opts.guard ? opts.guard(target.address, open) : open());
  return { client, target };
}

/** `text` without the url's password, should a message ever quote it. */
function maskSecret(text: string, url: string): string {
  try {
    const pw = decodeURIComponent(new URL(url).password);
    return pw === '' ? text : text.split(pw).join('***');
  } catch {
    return text;
  }
}

/**
 * A node-redis error as a SluiceError that says where (component, server), what went wrong and what
 * to check. Redis answers errors as `CODE message` (WRONGPASS, NOGROUP, WRONGTYPE); Node's socket
 * errors carry `code`; node-redis's own say the socket or client closed.
 */
export function redisError(err: unknown, where: string, target: RedisTarget, doing: string): SluiceError {
  const msg = err instanceof Error ? err.message : String(err);
  const at = `${where}: `;
  const server = `Redis at ${target.address}`;
  const socket = socketFailure(err, at, server, target.url, doing);
  if (socket) return socket;
  if (/^(WRONGPASS|NOAUTH|NOPERM)\b|\bAUTH\b/.test(msg))
    return new FatalError(
      `${at}${server} refused user "${target.user}" (${doing}): ${msg.split('\n')[0]} — check the user and password in ` +
        `with.url (${target.url}) or the credential, and the user's ACL`,
      { code: ErrorCode.CONNECTION, cause: err },
    );
  if (/^WRONGTYPE\b/.test(msg))
    return new FatalError(`${at}${server}: cannot ${doing}: the key holds another type (${msg})`, {
      code: ErrorCode.CONFIG,
      cause: err,
    });
  if (/^NOGROUP\b/.test(msg))
    return new FatalError(`${at}${server}: cannot ${doing}: ${msg} — was the stream or group deleted?`, {
      code: ErrorCode.NOT_FOUND,
      cause: err,
    });
  if (/Socket closed|client is closed|ClientClosed|Connection timeout|timed out|LOADING|BUSY\b/i.test(msg))
    return new RetryableError(`${at}lost the connection to ${server} (${doing}): ${msg}`, { cause: err });
  return new FatalError(`${at}${server} failed to ${doing}: ${msg}`, {
    code: ErrorCode.INTERNAL,
    cause: err,
  });
}

/** The connection check of Redis connectors: connect, PING, say where it landed and which server. */
export const redisConnection = {
  config: Type.Object({ url: Type.String({ minLength: 1 }) }),
  async check(
    config: { url: string },
    ctx: { signal: AbortSignal; stepId: string } & NetContext,
  ): Promise<string> {
    const { client, target } = await connectRedis(config.url, { where: ctx.stepId, net: ctx });
    try {
      ctx.signal.throwIfAborted();
      const info = await client.info('server');
      const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown version';
      return `connected to ${target.address} as ${target.user} (Redis ${version})`;
    } catch (err) {
      throw redisError(err, ctx.stepId, target, 'ask for the server version');
    } finally {
      client.destroy();
    }
  },
} satisfies ConnectionCheck;

/** What a stored credential holds for a Redis connector: the url, with its password. */
export const RedisCredential = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      writeOnly: true,
      description: 'Redis url with the password, e.g. redis://user:password@host:6379/0',
      examples: ['redis://etl:secret@cache.internal:6379/0'],
    }),
  },
  { additionalProperties: false },
);
