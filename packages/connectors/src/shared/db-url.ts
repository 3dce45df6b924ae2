import { ErrorCode, FatalError, type NetContext, RetryableError, type SluiceError } from '@sluice/core';

/** Masks the password of a database url (postgres://, mysql://: userinfo and a `password=` parameter). */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString().replace('password=%2A%2A%2A', 'password=***');
  } catch {
    // Not a url (a libpq key=value string): mask what looks like a password anyway.
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@').replace(/(password\s*=\s*)\S+/gi, '$1***');
  }
}

/** What a Node network error code means, for a database connector's message. */
export const NODE_REASON: Record<string, string> = {
  ECONNREFUSED: 'connection refused — is the server running and the url right?',
  ETIMEDOUT: 'timed out — is the host reachable (firewall, VPN, security group)?',
  EHOSTUNREACH: 'host unreachable — is the host reachable from this machine?',
  ENETUNREACH: 'network unreachable — check the host in the url and this machine’s network',
  ECONNRESET: 'the connection was reset — the server or a proxy dropped it',
  EPIPE: 'the connection was closed by the server',
  ENOTFOUND: 'host name not found — check the host in the url',
  EAI_AGAIN: 'the host name could not be resolved right now (DNS) — retrying may help',
};

/** How a connector that dials a server is told where it runs (see each connector's `connect`). */
export interface DialOptions {
  /** Prefix of every message: the component that connects (`ctx.componentId`). */
  where: string;
  /** The component's circuit breaker (`ctx.guardConnect`), keyed `host:port`. */
  guard?: (<T>(endpoint: string, connect: () => Promise<T>) => Promise<T>) | undefined;
  /** The run's network policy: the host is checked before connecting. */
  net?: NetContext | undefined;
}

/**
 * `url` parsed, or a CONFIG error at `with.url` (never showing the password) when it is not a url
 * or its scheme is not one of `schemes` (`['amqp', 'amqps']`); `example` shows the right form.
 */
export function serviceUrl(url: string, where: string, schemes: readonly string[], example: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FatalError(`${where}: with.url is not a url (${maskUrl(url)}); write ${example}`, {
      code: ErrorCode.CONFIG,
    });
  }
  const scheme = u.protocol.slice(0, -1);
  if (!schemes.includes(scheme))
    throw new FatalError(
      `${where}: with.url must start with ${schemes[0]}:// (or ${schemes.slice(1).join('://, ')}://), not ${scheme}:// (${maskUrl(url)})`,
      { code: ErrorCode.CONFIG },
    );
  return u;
}

/**
 * A socket-level failure (`err.code` one of NODE_REASON's) as the error a connector reports:
 * retryable, except a host that does not resolve or a network that cannot be reached (CONNECTION).
 * Undefined for any other error.
 */
export function socketFailure(
  err: unknown,
  at: string,
  server: string,
  maskedUrl: string,
  doing: string,
): SluiceError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || NODE_REASON[code] === undefined) return undefined;
  const what = doing === 'connect' ? `cannot connect to ${server}` : `lost the connection to ${server}`;
  const text = `${at}${what} (with.url ${maskedUrl}): ${NODE_REASON[code]}`;
  return code === 'ENOTFOUND' || code === 'ENETUNREACH'
    ? new FatalError(text, { code: ErrorCode.CONNECTION, cause: err })
    : new RetryableError(text, { cause: err });
}
