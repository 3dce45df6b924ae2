import { type LookupAddress, type LookupAllOptions, type LookupOptions, lookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { ErrorCode, FatalError, RetryableError, type SluiceError } from './errors.ts';
import { canonicalHost, type NetContext, netRefusal, type Refusal } from './net-policy.ts';

/**
 * The error for a refused destination: fatal (no attempt can change the policy), naming the
 * host, the address, the rule and the fix. `where` is the component and field (`http sink with.url`).
 */
export function netForbidden(ctx: NetContext, where: string, r: Refusal): FatalError {
  const step = ctx.stepId === undefined ? '' : `step "${ctx.stepId}": `;
  const address = r.address === undefined || r.address === r.host ? '' : ` (address ${r.address})`;
  return new FatalError(
    `${step}${where}: the host ${r.host}${address} is refused by ${r.rule}; ${r.fix}. ` +
      'Pipelines may not reach it, so that a parameter cannot turn a run into a probe of the internal network',
    { code: ErrorCode.HOST_FORBIDDEN },
  );
}

function lookupAll(host: string, options: LookupOptions = {}): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    lookup(host, { ...options, all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );
}

/**
 * Resolves `host` and checks the name and every address it resolves to against the run's
 * network policy (net-policy.ts). Returns the checked addresses: a client that can be given an
 * address should connect to one of them, so that what was checked is what is reached. A client
 * that resolves the name again itself leaves a window (a DNS answer that changes between the
 * two lookups, "DNS rebinding"): prefer `guardedLookup` where the client takes a `lookup`.
 * Throws HOST_FORBIDDEN when refused; CONFIG for a name that does not exist; a retryable
 * CONNECTION error when DNS does not answer. A Unix socket path (`/run/postgresql`) is no host.
 */
export async function checkHost(ctx: NetContext, host: string, where: string): Promise<LookupAddress[]> {
  if (host.startsWith('/')) return [];
  const name = host.replace(/^\[(.*)\]$/, '$1');
  // The name first: a denied name is refused without asking DNS about it.
  const byName = netRefusal(ctx.network, name, []);
  if (byName !== undefined) throw netForbidden(ctx, where, byName);
  let addresses: LookupAddress[];
  try {
    addresses = isIP(name) ? [{ address: name, family: isIP(name) }] : await lookupAll(name);
  } catch (err) {
    throw dnsFailure(err, canonicalHost(name), where);
  }
  const refused = netRefusal(
    ctx.network,
    name,
    addresses.map((a) => a.address),
  );
  if (refused !== undefined) throw netForbidden(ctx, where, refused);
  return addresses;
}

/** checkHost for a URL's host (`https://…`, `postgres://…`, `redis://…`); a URL without a host passes. */
export async function checkUrl(ctx: NetContext, url: string, where: string): Promise<LookupAddress[]> {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return []; // the client reports a malformed URL in its own words
  }
  return host === '' ? [] : checkHost(ctx, decodeURIComponent(host), where);
}

function dnsFailure(err: unknown, host: string, where: string): SluiceError {
  const code = (err as { code?: string }).code;
  if (code === 'ENOTFOUND')
    return new FatalError(`${where}: the host ${host} is not found; check its name`, {
      code: ErrorCode.CONFIG,
      cause: err,
    });
  return new RetryableError(`${where}: the host ${host} could not be resolved (${code ?? String(err)})`, {
    cause: err,
  });
}

/**
 * A `lookup` for net.connect, tls.connect, http(s).request and their Agents: resolves as
 * dns.lookup does and refuses the connection (HOST_FORBIDDEN, through the socket's 'error') when
 * the name or any address it resolved to is refused. The socket connects to the addresses this
 * lookup checked: no second lookup, so no DNS rebinding window.
 */
export function guardedLookup(ctx: NetContext, where: string): LookupFunction {
  return ((hostname: string, options: LookupOptions | LookupAllOptions, callback: LookupCallback) => {
    const byName = netRefusal(ctx.network, hostname, []);
    if (byName !== undefined) {
      callback(netForbidden(ctx, where, byName) as unknown as NodeJS.ErrnoException, []);
      return;
    }
    lookupAll(hostname, {
      ...(options.family ? { family: options.family } : {}),
      hints: options.hints ?? 0,
    }).then(
      (addresses) => {
        const refused = netRefusal(
          ctx.network,
          hostname,
          addresses.map((a) => a.address),
        );
        if (refused !== undefined)
          callback(netForbidden(ctx, where, refused) as unknown as NodeJS.ErrnoException, []);
        else if (options.all === true) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  }) as LookupFunction;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;
