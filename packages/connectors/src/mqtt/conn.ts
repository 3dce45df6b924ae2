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
import type { IClientOptions, MqttClient } from 'mqtt';
import { type DialOptions, maskUrl, serviceUrl, socketFailure } from '../shared/db-url.ts';

/** Where a connection goes, for messages: never the password. */
export interface MqttTarget {
  /** `host:port`. */
  address: string;
  user: string;
  /** The url with its password replaced by `***`. */
  url: string;
}

export interface ConnectOptions extends DialOptions {
  /** Options for mqtt.js besides the url's (clientId, clean, properties…). */
  client?: IClientOptions;
  /**
   * Called with the client before it connects: a persistent session's queued messages follow the
   * CONNACK at once, so a subscriber's handlers must be in place first.
   */
  prepare?: (client: MqttClient) => void;
}

let module: typeof import('mqtt') | undefined;

/** mqtt.js, loaded on first use: flows without MQTT never pay for loading it. */
async function loadMqtt(): Promise<typeof import('mqtt')> {
  module ??= await import('mqtt');
  return module;
}

export function parseUrl(url: string, where: string): MqttTarget & { host: string } {
  const u = serviceUrl(url, where, ['mqtt', 'mqtts'], 'mqtt://user:password@host:1883');
  const host = u.hostname || '127.0.0.1';
  return {
    host,
    address: `${host}:${u.port || (u.protocol === 'mqtts:' ? '8883' : '1883')}`,
    user: decodeURIComponent(u.username),
    url: maskUrl(url),
  };
}

/**
 * Connects once (no automatic reconnection: a lost connection fails the step, whose retry resumes
 * it, and the broker keeps the persistent session meanwhile). MQTT 5.
 */
export async function connect(
  url: string,
  opts: ConnectOptions,
): Promise<{ client: MqttClient; target: MqttTarget }> {
  const mqtt = await loadMqtt();
  const { host, ...target } = parseUrl(url, opts.where);
  const open = async (): Promise<MqttClient> => {
    await checkHost(opts.net ?? {}, host, `${opts.where} url`);
    const client = mqtt.connect(url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 15_000,
      ...opts.client,
    });
    opts.prepare?.(client);
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
        client.once('close', () => reject(new Error('connection closed')));
      });
      return client;
    } catch (err) {
      client.end(true);
      throw mqttError(err, opts.where, target, 'connect');
    }
  };
  const client = await (opts.guard ? opts.guard(target.address, open) : open());
  // An error after connecting comes back as 'close'; without a listener it would throw.
  client.on('error', () => undefined);
  return { client, target };
}

/** An mqtt.js error as a SluiceError that says where and what to check; never the password. */
export function mqttError(err: unknown, where: string, target: MqttTarget, doing: string): SluiceError {
  const e = (err instanceof Error ? err : new Error(String(err))) as Error & { code?: string | number };
  const at = `${where}: `;
  const server = `the MQTT broker at ${target.address}`;
  const socket = socketFailure(err, at, server, target.url, doing);
  if (socket) return socket;
  // CONNACK reason codes (MQTT 5): 134 bad user name or password, 135 not authorized; 4 and 5 in 3.1.1.
  if (
    e.code === 134 ||
    e.code === 135 ||
    e.code === 4 ||
    e.code === 5 ||
    /Not authorized|Bad User Name or Password/i.test(e.message)
  )
    return new FatalError(
      `${at}${server} refused ${target.user ? `user "${target.user}"` : 'an anonymous login'} — check the user and password in with.url (${target.url}) or the credential, and the broker's ACL`,
      { code: ErrorCode.CONNECTION, cause: err },
    );
  if (/connack timeout|timeout/i.test(e.message))
    return new RetryableError(
      `${at}cannot connect to ${server} (with.url ${target.url}): no answer within 15 s`,
      { cause: err },
    );
  if (/client disconnecting|connection closed|Keepalive timeout/i.test(e.message))
    return new RetryableError(`${at}lost the connection to ${server} (${doing}): ${e.message}`, {
      cause: err,
    });
  return new FatalError(`${at}${server} failed to ${doing}: ${e.message}`, {
    code: ErrorCode.INTERNAL,
    cause: err,
  });
}

/** The mqtt source's and sink's connection check: connect with a throwaway session, say where. */
export const mqttConnection = {
  config: Type.Object({ url: Type.String({ minLength: 1 }) }),
  async check(
    config: { url: string },
    ctx: { signal: AbortSignal; stepId: string } & NetContext,
  ): Promise<string> {
    const { client, target } = await connect(config.url, {
      where: ctx.stepId,
      net: ctx,
      client: { clean: true },
    });
    try {
      ctx.signal.throwIfAborted();
      return `connected to ${target.address}${target.user ? ` as ${target.user}` : ''} (MQTT 5)`;
    } finally {
      await client.endAsync().catch(() => undefined);
    }
  },
} satisfies ConnectionCheck;

/** What a stored credential holds for the mqtt source and sink: the url, with its password. */
export const MqttCredential = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      writeOnly: true,
      description: 'MQTT broker url with the password, e.g. mqtt://user:password@host:1883',
      examples: ['mqtt://etl:secret@broker.internal:1883'],
    }),
  },
  { additionalProperties: false },
);
