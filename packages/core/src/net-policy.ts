import { BlockList, isIP } from 'node:net';
import { ConfigError, type Issue } from './errors.ts';

// A pipeline's URLs and hosts are often parameters an operator types: an HTTP sink given
// `http://169.254.169.254/latest/meta-data/iam/...` would hand the cloud's instance credentials
// to whoever reads the job's log. Every connector that dials a host a config names asks this
// policy first, with the host name AND every address it resolves to (a name can resolve to
// anything, and change between two lookups).

/**
 * Where the network connections a run's steps open may lead, besides the built-in refusal of
 * link-local and cloud metadata addresses (BUILT_IN_DENIED), which applies with or without one.
 * Rules are host names (`db.example.com`), wildcards (`*.internal` for any name below
 * `internal`; `*` for every host), IP addresses and CIDR ranges (`10.0.0.0/8`, `fd00::/8`).
 * The platform sets one from `--deny-hosts` and `--allow-hosts`.
 */
export interface NetPolicy {
  /** Refused, whatever `allow` says. @defaultValue none */
  readonly deny?: readonly string[];
  /**
   * When not empty, the only hosts reached: a host is reached when its name matches a rule, or
   * every address it resolves to does. An address or range named here also lifts the built-in
   * refusal for it (a name never does). @defaultValue none: every host the built-in rule lets through
   */
  readonly allow?: readonly string[];
}

/** What `checkHost` needs of a component's context. */
export interface NetContext {
  readonly stepId?: string;
  /** The run's network policy; the built-in refusal only when absent. */
  readonly network?: NetPolicy | undefined;
}

/** Never reached unless an allow rule names the address: link-local (where clouds serve instance metadata) and AWS's IPv6 metadata address. */
export const BUILT_IN_DENIED = ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128'] as const;

/** Why a destination is refused, for the message. */
export interface Refusal {
  /** The host as checked (lower case, an IP address in its canonical form). */
  readonly host: string;
  /** The address that was refused, when the rule is about addresses. */
  readonly address?: string;
  /** The rule, as a person reads it: `--deny-hosts *.internal`, `the built-in rule …`. */
  readonly rule: string;
  /** What would allow it. */
  readonly fix: string;
}

interface Compiled {
  names: string[];
  suffixes: string[];
  any: boolean;
  /** One list per address rule, to name the rule that matched. */
  addresses: { rule: string; list: BlockList }[];
}

const builtIn = compile(BUILT_IN_DENIED);
const cache = new WeakMap<NetPolicy, { deny: Compiled; allow: Compiled }>();

/**
 * The policy from the operator's lists (comma-separated strings or arrays), checked: a rule that
 * is neither a host name, a wildcard, an address nor a CIDR is a ConfigError at `denyHosts[i]` or
 * `allowHosts[i]`, so a typo cannot silently leave the network open.
 */
export function netPolicy(lists: {
  deny?: string | readonly string[];
  allow?: string | readonly string[];
}): NetPolicy {
  const issues: Issue[] = [];
  const read = (list: string | readonly string[] | undefined, option: string) => {
    const items = (typeof list === 'string' ? list.split(',') : (list ?? []).flatMap((s) => s.split(',')))
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== '');
    items.forEach((rule, i) => {
      const problem = ruleProblem(rule);
      if (problem) issues.push({ path: `${option}[${i}]`, message: `"${rule}": ${problem}` });
    });
    return Object.freeze(items);
  };
  const policy = { deny: read(lists.deny, 'denyHosts'), allow: read(lists.allow, 'allowHosts') };
  if (issues.length > 0) throw new ConfigError('the hosts pipelines may reach are not well written', issues);
  return Object.freeze(policy);
}

function ruleProblem(rule: string): string | undefined {
  if (rule.includes('/')) {
    const [ip = '', bits = '', ...rest] = rule.split('/');
    const family = isIP(bare(ip));
    const max = family === 4 ? 32 : 128;
    if (family === 0 || rest.length > 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > max)
      return 'a CIDR range is an address, a slash and a prefix length (10.0.0.0/8, fd00::/8)';
    return undefined;
  }
  if (isIP(bare(rule)) !== 0 || rule === '*') return undefined;
  const name = rule.startsWith('*.') ? rule.slice(2) : rule;
  return /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/.test(name)
    ? undefined
    : 'write a host name (db.example.com), a wildcard (*.internal, or * for every host), an address or a CIDR range';
}

/** `[::1]` → `::1`; `fe80::1%eth0` → `fe80::1`. */
function bare(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
}

function compile(rules: readonly string[]): Compiled {
  const c: Compiled = { names: [], suffixes: [], any: false, addresses: [] };
  for (const rule of rules) {
    const [ip = '', bits] = rule.split('/');
    const family = isIP(bare(ip));
    if (family !== 0) {
      const list = new BlockList();
      // BlockList matches an IPv4-mapped IPv6 address against IPv4 ranges too.
      list.addSubnet(
        bare(ip),
        bits === undefined ? (family === 4 ? 32 : 128) : Number(bits),
        family === 4 ? 'ipv4' : 'ipv6',
      );
      c.addresses.push({ rule, list });
    } else if (rule === '*') c.any = true;
    else if (rule.startsWith('*.')) c.suffixes.push(`.${rule.slice(2).replace(/\.$/, '')}`);
    else c.names.push(rule.replace(/\.$/, ''));
  }
  return c;
}

function compiled(policy: NetPolicy): { deny: Compiled; allow: Compiled } {
  let c = cache.get(policy);
  if (c === undefined) {
    c = { deny: compile(policy.deny ?? []), allow: compile(policy.allow ?? []) };
    // Policies arrive frozen from netPolicy, or as plain objects over IPC: either is a fine key.
    cache.set(policy, c);
  }
  return c;
}

/**
 * An address in its canonical form, an IPv4 address mapped into IPv6 (`::ffff:169.254.169.254`,
 * which reaches the IPv4 host) as the IPv4 address; undefined for anything that is not an address.
 */
export function canonicalAddress(address: string): string | undefined {
  const a = bare(address);
  const family = isIP(a);
  if (family === 4) return a;
  if (family === 0) return undefined;
  const h = new URL(`http://[${a}]`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped === null) return h;
  const hi = Number.parseInt(mapped[1]!, 16);
  const lo = Number.parseInt(mapped[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * A host as a connection names it: lower case without a trailing dot, an address in canonical
 * form. The URL parser's reading of an IPv4 address is used (`2852039166` and `0xa9.254.169.254`
 * are 169.254.169.254 to it, as to the resolver).
 */
export function canonicalHost(host: string): string {
  const a = canonicalAddress(host);
  if (a !== undefined) return a;
  let h = host.toLowerCase();
  try {
    h = new URL(`http://${host}`).hostname;
  } catch {
    // not a name a URL can hold; compared as written
  }
  return canonicalAddress(h) ?? h.replace(/\.$/, '');
}

function nameMatches(c: Compiled, name: string): string | undefined {
  if (c.any) return '*';
  if (c.names.includes(name)) return name;
  const s = c.suffixes.find((suffix) => name.endsWith(suffix));
  return s === undefined ? undefined : `*${s}`;
}

function addressMatches(c: Compiled, address: string): string | undefined {
  const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  return c.addresses.find((a) => a.list.check(address, family))?.rule;
}

const ALLOW_NOTE =
  '(with --allow-hosts, only the hosts it names are reached: add * to it to keep every other host open)';

/**
 * Whether a connection to `host`, which resolved to `addresses`, is refused, and by which rule.
 * Pass no addresses to judge the name alone (before resolving it): a denied name or a denied
 * address written as the host is refused then; the allow list is only applied with addresses.
 * Order: the operator's deny rules, then the allow list, then the built-in rule.
 */
export function netRefusal(
  policy: NetPolicy | undefined,
  host: string,
  addresses: readonly string[],
): Refusal | undefined {
  const name = canonicalHost(host);
  const literal = canonicalAddress(name);
  const addrs = [
    ...new Set([
      ...(literal === undefined ? [] : [literal]),
      ...addresses.flatMap((a) => canonicalAddress(a) ?? []),
    ]),
  ];
  const judged = literal !== undefined || addrs.length > 0;
  const c = policy === undefined ? undefined : compiled(policy);
  if (c !== undefined) {
    const byName = literal === undefined ? nameMatches(c.deny, name) : undefined;
    if (byName !== undefined)
      return { host: name, rule: `--deny-hosts ${byName}`, fix: `take ${byName} out of --deny-hosts` };
    for (const address of addrs) {
      const rule = addressMatches(c.deny, address);
      if (rule !== undefined)
        return { host: name, address, rule: `--deny-hosts ${rule}`, fix: `take ${rule} out of --deny-hosts` };
    }
  }
  const allowing =
    c !== undefined &&
    (c.allow.any || c.allow.names.length + c.allow.suffixes.length + c.allow.addresses.length > 0);
  if (c !== undefined && allowing && judged) {
    const named = literal === undefined ? nameMatches(c.allow, name) : c.allow.any ? '*' : undefined;
    const outside =
      named === undefined ? addrs.find((a) => addressMatches(c.allow, a) === undefined) : undefined;
    if (outside !== undefined) {
      return {
        host: name,
        address: outside,
        rule: '--allow-hosts, which does not name it',
        fix: `add ${literal ?? name} to --allow-hosts`,
      };
    }
  }
  for (const address of addrs) {
    if (addressMatches(builtIn, address) === undefined) continue;
    if (c !== undefined && addressMatches(c.allow, address) !== undefined) continue;
    return {
      host: name,
      address,
      rule: `the built-in rule against link-local and cloud metadata addresses (${BUILT_IN_DENIED.join(', ').replace('/128', '')}), which keeps pipelines from reading the machine's cloud credentials`,
      fix: `if this address is really meant, allow it by address: --allow-hosts ${address} ${ALLOW_NOTE}`,
    };
  }
  return undefined;
}
