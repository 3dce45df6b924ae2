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
import type { ChannelModel } from 'amqplib';
import { type DialOptions, maskUrl, serviceUrl, socketFailure } from '../shared/db-url.ts';

/** Where a connection goes, for messages: never the password. */
export interface AmqpTarget {
  /** `host:port`. */
  address: string;
  vhost: string;
  user: string;
  /** The url with its password replaced by `***`. */
  url: string;
}

export interface AmqpConnection {
  model: ChannelModel;
  target: AmqpTarget;
}

export type ConnectOptions = DialOptions;

let module: typeof import('amqplib') | undefined;

/** amqplib, loaded on first use: flows without RabbitMQ never pay for loading it. */
async function loadAmqp(): Promise<typeof import('amqplib')> {
  module ??= await import('amqplib');
  return module;
}

/** The target of an amqp:// (or amqps://) url; a CONFIG error naming `with.url` when it is not one. */
export function parseUrl(url: string, where: string): AmqpTarget & { host: string } {
  const u = serviceUrl(url, where, ['amqp', 'amqps'], 'amqp://user:password@host:5672/vhost');
  const host = u.hostname || '127.0.0.1';
  const port = u.port || (u.protocol === 'amqps:' ? '5671' : '5672');
  return {
    host,
    address: `${host}:${port}`,
    // amqp://host/ names the vhost "" in the spec's reading; RabbitMQ's default vhost is "/".
    vhost: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/',
    user: decodeURIComponent(u.username) || 'guest',
    url: maskUrl(url),
  };
}

/** Opens one connection; failures become SluiceErrors that say where and never the password. */
export async function connect(url: string, opts: ConnectOptions): Promise<AmqpConnection> {
  const amqp = await loadAmqp();
  const { host, ...target } = parseUrl(url, opts.where);
  const open = async (): Promise<ChannelModel> => {
    // amqplib resolves the host again when it connects: a DNS answer that changes in between is
    // not checked (residual risk, see core's net-check.ts).
    await checkHost(opts.net ?? {}, host, `${opts.where} url`);
    try {
      // The default vhost "/" must be spelled %2F in the url amqplib reads.
      const u = new URL(url);
      if (u.pathname.length <= 1) u.pathname = '/%2F';
      return await amqp.connect(u.toString(), {
        timeout: 15_000,
        clientProperties: { connection_name: opts.where },
      });
    } catch (err) {
      throw amqpError(err, opts.where, target, 'connect');
    }
  };
  const model = await (opts.guard ? opts.guard(target.address, open) : open());
  // An idle connection's error would otherwise crash the process; readers learn of it on 'close'.
  model.on('error', () => undefined);
  return { model, target };
}

/**
 * Turns an amqplib error into a SluiceError that says where (component, server, vhost), what went
 * wrong and what to check. AMQP reports refusals as a reply code and text (`403 (ACCESS-REFUSED)`),
 * Node's socket errors as `code`.
 */
export function amqpError(err: unknown, where: string, target: AmqpTarget, doing: string): SluiceError {
  const e = (err instanceof Error ? err : new Error(String(err))) as Error & { code?: string | number };
  const at = `${where}: `;
  const server = `RabbitMQ at ${target.address}`;
  const socket = socketFailure(err, at, server, target.url, doing);
  if (socket) return socket;
  const msg = e.message;
  if (/ACCESS[-_]REFUSED|\b403\b/.test(msg)) {
    const vhostRefused = /vhost/i.test(msg);
    return new FatalError(
      vhostRefused
        ? `${at}${server} refused user "${target.user}" the virtual host "${target.vhost}" — check the vhost at the ` +
            `end of with.url (${target.url}) and the user's permissions on it`
        : `${at}${server} refused user "${target.user}" — check the user and password in with.url (${target.url}) or the credential`,
      { code: ErrorCode.CONNECTION, cause: err },
    );
  }
  if (/NOT[-_]FOUND|\b404\b/.test(msg)) {
    const what = /'([^']+)' in vhost/.exec(msg)?.[1];
    return new FatalError(
      `${at}${server}: ${what ? `"${what}" does not exist` : 'not found'} in vhost "${target.vhost}" (${doing}) — ` +
        `check the name${/queue/.test(doing) ? ', or set declare: true to create the queue' : ''}`,
      { code: ErrorCode.NOT_FOUND, cause: err },
    );
  }
  if (/PRECONDITION[-_]FAILED|\b406\b/.test(msg))
    return new FatalError(
      `${at}${server} refused to ${doing}: ${msg} — the queue or exchange exists with other settings`,
      { code: ErrorCode.CONFIG, cause: err },
    );
  if (
    /Socket closed|Connection closed|Channel closed|CONNECTION[-_]FORCED|\b320\b|Heartbeat timeout/i.test(msg)
  )
    return new RetryableError(`${at}lost the connection to ${server} (${doing}): ${msg}`, { cause: err });
  if (/timeout/i.test(msg))
    return new RetryableError(`${at}cannot connect to ${server} (with.url ${target.url}): ${msg}`, {
      cause: err,
    });
  return new FatalError(`${at}${server} failed to ${doing}: ${msg}`, {
    code: ErrorCode.INTERNAL,
    cause: err,
  });
}

/** The rabbitmq source's and sink's connection check: connect, open a channel, say where it landed. */
export const amqpConnection = {
  config: Type.Object({ url: Type.String({ minLength: 1 }) }),
  async check(
    config: { url: string },
    ctx: { signal: AbortSignal; stepId: string } & NetContext,
  ): Promise<string> {
    const c = await connect(config.url, { where: ctx.stepId, net: ctx });
    try {
      ctx.signal.throwIfAborted();
      const ch = await c.model.createChannel();
      await ch.close();
      const product = c.model.connection.serverProperties;
      return `connected to ${c.target.address} vhost ${c.target.vhost} as ${c.target.user} (${product.product} ${product.version})`;
    } finally {
      await c.model.close().catch(() => undefined);
    }
  },
} satisfies ConnectionCheck;

/** What a stored credential holds for the rabbitmq source and sink: the url, with its password. */
export const AmqpCredential = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      writeOnly: true,
      description: 'RabbitMQ url with the password, e.g. amqp://user:password@host:5672/vhost',
      examples: ['amqp://etl:secret@mq.internal:5672/orders'],
    }),
  },
  { additionalProperties: false },
);
