import { createHash } from 'node:crypto';
import { checkHost, ErrorCode, FatalError, RetryableError, SluiceError } from '@sluice/core';
import SftpClient from 'ssh2-sftp-client';
import type { LocationContext } from './index.ts';
import type { SftpOptions } from './options.ts';

/** The parts of `sftp://user@host:port/abs/path` a session and its paths need. */
export interface SftpAddress {
  /** `sftp://user@host:port` as written: listed files are named under it, so a glob's prefix matches. */
  readonly base: string;
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  /** The absolute path on the server, as written (not percent-decoded). */
  readonly path: string;
}

const AUTHORITY = /^sftp:\/\/[^/]*/i;

export function parseSftpUrl(url: string, where: string): SftpAddress {
  const base = AUTHORITY.exec(url)?.[0];
  let parsed: URL | undefined;
  try {
    parsed = base === undefined ? undefined : new URL(`${base}/`);
  } catch {
    parsed = undefined;
  }
  if (base === undefined || parsed === undefined || parsed.hostname === '') {
    throw new FatalError(
      `${where}: ${url} is not an SFTP address; write sftp://user@host:port/absolute/path`,
      {
        code: ErrorCode.CONFIG,
      },
    );
  }
  const path = url.slice(base.length);
  return {
    base,
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 22 : Number(parsed.port),
    user: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    path: path === '' ? '/' : path,
  };
}

/** The fingerprint `ssh-keygen -lf` prints for a host key: SHA256 of the key blob, base64 without padding. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** Messages by which ssh2 reports that the server could not be reached or went away. */
const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|EAI_AGAIN|timed out|unexpected (end|close)|not connected|no sftp connection|refused connection|reset the connection/i;
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'ERR_NOT_CONNECTED',
]);

/**
 * One SSH connection to a server, opened on first use and kept until `end`. A connection that
 * drops is forgotten, so the next operation opens a new one rather than fail for good.
 */
export class SftpSession {
  readonly #address: SftpAddress;
  readonly #options: SftpOptions;
  readonly #ctx: LocationContext;
  readonly #where: string;
  #client: Promise<SftpClient> | undefined;
  /** Set when our host verifier refused the server's key: ssh2 reports it only as a failed handshake. */
  #presentedKey: string | undefined;

  constructor(address: SftpAddress, options: SftpOptions, ctx: LocationContext, where: string) {
    this.#address = address;
    this.#options = options;
    this.#ctx = ctx;
    this.#where = where;
  }

  get user(): string {
    const user = this.#options.username ?? this.#address.user;
    if (user === undefined) {
      throw new FatalError(
        `${this.#where}: ${this.#address.base} names no user; write sftp://user@host/path or set sftp.username`,
        { code: ErrorCode.CONFIG },
      );
    }
    return user;
  }

  get endpoint(): string {
    return `${this.#address.host}:${this.#address.port}`;
  }

  client(): Promise<SftpClient> {
    this.#client ??= this.#open().catch((err: unknown) => {
      this.#client = undefined;
      throw err;
    });
    return this.#client;
  }

  async end(): Promise<void> {
    const opening = this.#client;
    this.#client = undefined;
    const client = await opening?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }

  async #open(): Promise<SftpClient> {
    const client = new SftpClient('sluice', {
      // A dropped connection is forgotten; the operation it broke fails through its own error.
      close: () => this.#forget(client),
      end: () => this.#forget(client),
      error: () => this.#forget(client),
    });
    const o = this.#options;
    const username = this.user;
    const pinned = o.hostKey?.replace(/=+$/, '');
    this.#presentedKey = undefined;
    const connect = async () => {
      // ssh2 is handed the address that was checked, not the name: no second lookup to rebind.
      // The host key check does not depend on the name, so nothing is lost by it.
      const [checked] = await checkHost(this.#ctx, this.#address.host, `${this.#where} path`);
      try {
        await client.connect({
          host: checked?.address ?? this.#address.host,
          port: this.#address.port,
          username,
          ...(o.password === undefined ? {} : { password: o.password }),
          ...(o.privateKey === undefined ? {} : { privateKey: o.privateKey }),
          ...(o.passphrase === undefined ? {} : { passphrase: o.passphrase }),
          readyTimeout: 20_000,
          // Without a pinned key any host key is accepted (documented on the `hostKey` option).
          hostVerifier: (key: Buffer) => {
            if (pinned === undefined) return true;
            const shown = fingerprint(key);
            if (shown === pinned) return true;
            this.#presentedKey = shown;
            return false;
          },
        });
      } catch (err) {
        await client.end().catch(() => undefined);
        throw this.#connectFailure(err);
      }
      return client;
    };
    return this.#ctx.guardConnect ? this.#ctx.guardConnect(this.endpoint, connect) : connect();
  }

  #forget(client: SftpClient): void {
    void this.#client?.then(
      (c) => {
        if (c === client) this.#client = undefined;
      },
      () => undefined,
    );
  }

  #connectFailure(err: unknown): SluiceError {
    const at = `${this.user}@${this.endpoint}`;
    if (this.#presentedKey !== undefined) {
      return new FatalError(
        `${this.#where}: the SFTP server ${this.endpoint} shows host key ${this.#presentedKey}, but sftp.hostKey ` +
          `pins ${this.#options.hostKey}; the connection was refused. If the server's key changed on purpose, ` +
          'set sftp.hostKey to the new fingerprint (ssh-keygen -lf on its public key)',
        { code: ErrorCode.CONFIG, cause: err },
      );
    }
    const message = err instanceof Error ? err.message : String(err);
    if (/authentication methods failed|authentication failed/i.test(message)) {
      return new FatalError(
        `${this.#where}: SFTP authentication failed for ${at}; check sftp.username and sftp.password or ` +
          'sftp.privateKey (and its passphrase) in the config or its credential',
        { code: ErrorCode.CONFIG, cause: err },
      );
    }
    if (/passphrase|parse privateKey|unsupported key format|cannot parse/i.test(message)) {
      return new FatalError(
        `${this.#where}: sftp.privateKey for ${at} cannot be read (${message}); give the private key in ` +
          'PEM or OpenSSH format, with sftp.passphrase when it is encrypted',
        { code: ErrorCode.CONFIG, cause: err },
      );
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOTFOUND') {
      return new FatalError(
        `${this.#where}: SFTP host ${this.#address.host} is not found; check the path's host`,
        {
          code: ErrorCode.CONFIG,
          cause: err,
        },
      );
    }
    return this.failure(err, `sftp://${at}`, 'connecting');
  }

  /** Normalises an error of `doing` on `url`: NOT_FOUND, CONFIG, a retryable CONNECTION, else INTERNAL. */
  failure(err: unknown, url: string, doing: string): SluiceError {
    if (err instanceof SluiceError) return err;
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    // ssh2 gives SFTP status codes as numbers (2 no such file, 3 permission denied);
    // ssh2-sftp-client turns some into ENOENT / EACCES.
    if (code === 'ENOENT' || code === 2) {
      return new SluiceError(ErrorCode.NOT_FOUND, `${this.#where}: file not found: ${url}`, { cause: err });
    }
    if (code === 'EACCES' || code === 3) {
      return new FatalError(
        `${this.#where}: the SFTP server denies ${this.user} access to ${url} (${doing}); check the path and the user's rights`,
        { code: ErrorCode.CONFIG, cause: err },
      );
    }
    if ((typeof code === 'string' && RETRYABLE_CODES.has(code)) || UNREACHABLE.test(message)) {
      return new RetryableError(
        `${this.#where}: ${url}: the SFTP connection to ${this.endpoint} failed while ${doing}: ${message}`,
        {
          cause: err,
        },
      );
    }
    return new SluiceError(
      ErrorCode.INTERNAL,
      `${this.#where}: ${url}: SFTP error while ${doing}: ${message}`,
      {
        cause: err,
      },
    );
  }
}
