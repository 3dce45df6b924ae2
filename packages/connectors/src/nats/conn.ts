import type { NatsConnection } from '@nats-io/transport-node';
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
import { type DialOptions, maskUrl, serviceUrl, socketFailure } from '../shared/db-url.ts';

/** Where a connection goes, for messages: never the password or token. */
export interface NatsTarget {
  /** `host:port`. */
  address: string;
  /** The user name, or `""` (no login, or a token). */
  user: string;
  /** The url with its password (or token) replaced by `***`. */
  url: string;
}

export interface NatsClient {
  nc: NatsConnection;
  target: NatsTarget;
}

let module: typeof import('@nats-io/transport-node') | undefined;

/** The NATS client, loaded on first use: flows without NATS never pay for loading it. */
async function loadNats(): Promise<typeof import('@nats-io/transport-node')> {
  module ??= await import('@nats-io/transport-node');
  return module;
}

/** The login a url holds: user and password, or a token alone in the user part (`nats://token@host`). */
interface Login {
  user?: string;
  pass?: string;
  token?: string;
}

/** The target of a nats:// (or tls://) url; a CONFIG error naming `with.url` when it is not one. */
export function parseUrl(
  url: string,
  where: string,
): NatsTarget & { host: string; port: number; tls: boolean; login: Login } {
  const u = serviceUrl(url, where, ['nats', 'tls'], 'nats://user:password@host:4222');
  const host = u.hostname || '127.0.0.1';
  const port = Number(u.port || '4222');
  const name = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  const login: Login = name === '' ? {} : pass === '' ? { token: name } : { user: name, pass };
  // A token is a secret: it is masked like a password.
  const masked =
    login.token === undefined ? maskUrl(url) : maskUrl(url).replace(`//${u.username}@`, '//***@');
  return {
    host,
    port,
    tls: u.protocol === 'tls:',
    login,
    address: `${host}:${port}`,
    user: login.user ?? '',
    url: masked,
  };
}

/**
 * Opens one connection, without automatic reconnection: a lost connection fails the step, whose
 * retry resumes it (the durable consumer keeps its place meanwhile). Failures become SluiceErrors
 * that say where and never the password.
 */
export async function connect(url: string, opts: DialOptions): Promise<NatsClient> {
  const nats = await loadNats();
  const { host, port, tls, login, ...target } = parseUrl(url, opts.where);
  const open = async (): Promise<NatsConnection> => {
    // The client resolves the host again when it connects: a DNS answer that changes in between
    // is not checked (residual risk, see core's net-check.ts).
    await checkHost(opts.net ?? {}, host, `${opts.where} url`);
    try {
      return await nats.connect({
        servers: `${host.includes(':') ? `[${host}]` : host}:${port}`,
        ...login,
        ...(tls ? { tls: {} } : {}),
        name: opts.where,
        timeout: 15_000,
        reconnect: false,
        // The url names one server; the cluster's other servers it advertises are not checked
        // against the network policy, so they are not dialled.
        ignoreClusterUpdates: true,
      });
    } catch (err) {
      throw natsError(err, opts.where, target, 'connect');
    }
  };
  const nc = await (opts.guard ? opts.guard(target.address, open) : open());
  return { nc, target };
}

/**
 * Turns a NATS client error into a SluiceError that says where (component, server), what went
 * wrong and what to check. The client's errors are told apart by `name`; socket errors come as
 * the `cause` of a ConnectionError.
 */
export function natsError(err: unknown, where: string, target: NatsTarget, doing: string): SluiceError {
  const e = err instanceof Error ? err : new Error(String(err));
  const at = `${where}: `;
  const server = `NATS at ${target.address}`;
  const socket = socketFailure(e.cause ?? err, at, server, target.url, doing);
  if (socket) return socket;
  switch (e.name) {
    case 'AuthorizationError':
    case 'UserAuthenticationExpiredError':
      return new FatalError(
        `${at}${server} refused ${target.user ? `user "${target.user}"` : 'the login'} — check the user and password (or token) in with.url (${target.url}) or the credential`,
        { code: ErrorCode.CONNECTION, cause: err },
      );
    case 'PermissionViolationError':
      return new FatalError(
        `${at}${server} denied a permission needed to ${doing}: ${e.message} — check the user's publish and subscribe permissions`,
        { code: ErrorCode.CONNECTION, cause: err },
      );
    case 'StreamNotFoundError':
      return new FatalError(`${at}${server}: ${doing}: the stream does not exist — check the stream name`, {
        code: ErrorCode.NOT_FOUND,
        cause: err,
      });
    case 'JetStreamNotEnabled':
      return new FatalError(
        `${at}${server} has no JetStream for this account (${doing}) — start nats-server with JetStream (-js) or enable it for the account`,
        { code: ErrorCode.CONFIG, cause: err },
      );
    case 'ClosedConnectionError':
    case 'DrainingConnectionError':
    case 'ConnectionError':
    case 'TimeoutError':
      return new RetryableError(
        `${at}${doing === 'connect' ? 'cannot connect to' : 'lost the connection to'} ${server} (${doing}): ${e.message}`,
        { cause: err },
      );
  }
  return new FatalError(`${at}${server} failed to ${doing}: ${e.message}`, {
    code: ErrorCode.INTERNAL,
    cause: err,
  });
}

/** The nats source's and sink's connection check: connect, ask for the account's JetStream, say where. */
export const natsConnection = {
  config: Type.Object({ url: Type.String({ minLength: 1 }) }),
  async check(
    config: { url: string },
    ctx: { signal: AbortSignal; stepId: string } & NetContext,
  ): Promise<string> {
    const { nc, target } = await connect(config.url, { where: ctx.stepId, net: ctx });
    try {
      ctx.signal.throwIfAborted();
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const info = await jetstreamManager(nc)
        .then((jsm) => jsm.getAccountInfo())
        .catch((err: unknown) => {
          throw natsError(err, ctx.stepId, target, 'read the JetStream account');
        });
      return `connected to ${target.address}${target.user ? ` as ${target.user}` : ''} (nats-server ${nc.info?.version ?? '?'}, JetStream: ${info.streams} streams)`;
    } finally {
      await nc.close().catch(() => undefined);
    }
  },
} satisfies ConnectionCheck;

/** What a stored credential holds for the nats source and sink: the url, with its password or token. */
export const NatsCredential = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      writeOnly: true,
      description:
        'NATS url with the password, e.g. nats://user:password@host:4222 (or nats://token@host:4222)',
      examples: ['nats://etl:secret@nats.internal:4222'],
    }),
  },
  { additionalProperties: false },
);
