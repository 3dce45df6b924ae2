import { createServer, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ConfigError, ErrorCode, FatalError } from './errors.ts';
import { checkHost, checkUrl, guardedLookup } from './net-check.ts';
import { canonicalAddress, canonicalHost, netPolicy, netRefusal } from './net-policy.ts';

const refused = (policy: Parameters<typeof netRefusal>[0], host: string, addrs: string[] = []) =>
  netRefusal(policy, host, addrs)?.rule;

describe('net policy rules', () => {
  it('refuses link-local and metadata addresses by default, in every spelling', () => {
    for (const host of [
      '169.254.169.254',
      '169.254.0.1',
      '[fe80::1]',
      'fe80::abcd:1',
      'fd00:ec2::254',
      '::ffff:169.254.169.254',
      '[::ffff:a9fe:a9fe]',
      '2852039166', // the URL parser's (and inet_aton's) 169.254.169.254
      '0xa9.0xfe.0xa9.0xfe',
    ])
      expect(refused(undefined, host), host).toMatch(/built-in/);
    for (const host of ['127.0.0.1', '10.0.0.1', '::1', 'fd00:ec2::253', '169.255.0.1', 'example.com'])
      expect(refused(undefined, host), host).toBeUndefined();
  });

  it('refuses a name by the addresses it resolves to, every one of them', () => {
    expect(refused(undefined, 'metadata.example', ['10.0.0.1', '169.254.169.254'])).toMatch(/built-in/);
    expect(refused(undefined, 'ok.example', ['::ffff:10.0.0.1', '10.0.0.2'])).toBeUndefined();
    expect(netRefusal(undefined, 'm.example', ['::ffff:169.254.169.254'])?.address).toBe('169.254.169.254');
  });

  it('denies names, wildcards, addresses and CIDR ranges (IPv4, IPv6, mapped)', () => {
    const p = netPolicy({ deny: 'db.corp, *.internal ,10.0.0.0/8', allow: [] });
    expect(refused(p, 'DB.corp.')).toBe('--deny-hosts db.corp');
    expect(refused(p, 'a.b.internal')).toBe('--deny-hosts *.internal');
    expect(refused(p, 'internal')).toBeUndefined();
    expect(refused(p, 'x.example', ['10.1.2.3'])).toBe('--deny-hosts 10.0.0.0/8');
    expect(refused(p, '::ffff:10.9.9.9')).toBe('--deny-hosts 10.0.0.0/8');
    const v6 = netPolicy({ deny: ['fd12::/16', '2001:db8::1'] });
    expect(refused(v6, 'h', ['fd12:3::4'])).toBe('--deny-hosts fd12::/16');
    expect(refused(v6, '[2001:DB8:0::1]')).toBe('--deny-hosts 2001:db8::1');
    expect(refused(v6, 'h', ['fd13::1'])).toBeUndefined();
  });

  it('with an allow list, reaches only what it names; deny wins over allow', () => {
    const p = netPolicy({ allow: ['*.example.com', '192.168.0.0/16'], deny: ['bad.example.com'] });
    expect(refused(p, 'api.example.com', ['1.2.3.4'])).toBeUndefined();
    expect(refused(p, 'nas.local', ['192.168.1.5'])).toBeUndefined();
    expect(refused(p, 'other.org', ['1.2.3.4'])).toMatch(/--allow-hosts/);
    expect(netRefusal(p, 'other.org', ['1.2.3.4'])?.fix).toBe('add other.org to --allow-hosts');
    expect(refused(p, 'bad.example.com', ['1.2.3.4'])).toBe('--deny-hosts bad.example.com');
    // The allow list needs addresses to judge a name it does not hold: not before resolving.
    expect(refused(p, 'other.org')).toBeUndefined();
  });

  it('lifts the built-in rule only for an address or range the allow list names', () => {
    const byName = netPolicy({ allow: ['*'] });
    expect(refused(byName, 'meta.example', ['169.254.169.254'])).toMatch(/built-in/);
    expect(refused(netPolicy({ allow: ['meta.example'] }), 'meta.example', ['169.254.169.254'])).toMatch(
      /built-in/,
    );
    const byAddress = netPolicy({ allow: ['*', '169.254.10.0/24'] });
    expect(refused(byAddress, 'svc.example', ['169.254.10.7'])).toBeUndefined();
    expect(refused(byAddress, '169.254.169.254')).toMatch(/built-in/);
    expect(refused(netPolicy({ deny: ['169.254.10.7'], allow: ['169.254.10.0/24'] }), '169.254.10.7')).toBe(
      '--deny-hosts 169.254.10.7',
    );
  });

  it('refuses badly written rules at their option and index', () => {
    try {
      netPolicy({ deny: 'ok.example,10.0.0.0/33', allow: ['a b', 'fe80::/129', '*.x'] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.path)).toEqual([
        'denyHosts[1]',
        'allowHosts[0]',
        'allowHosts[1]',
      ]);
    }
  });

  it('canonical forms', () => {
    expect(canonicalAddress('::FFFF:7f00:1')).toBe('127.0.0.1');
    expect(canonicalAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalAddress('example.com')).toBeUndefined();
    expect(canonicalHost('Example.COM.')).toBe('example.com');
  });
});

describe('checkHost', () => {
  it('throws HOST_FORBIDDEN naming the host, the address, the rule and the fix', async () => {
    const err = await checkUrl(
      { stepId: 'load' },
      'http://169.254.169.254/latest/meta-data/',
      'http sink url',
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect((err as FatalError).code).toBe(ErrorCode.HOST_FORBIDDEN);
    expect((err as Error).message).toMatch(
      /^step "load": http sink url: the host 169\.254\.169\.254 is refused by the built-in rule .*--allow-hosts 169\.254\.169\.254/,
    );
  });

  it('checks what a name resolves to (localhost denied by address)', async () => {
    const network = netPolicy({ deny: ['127.0.0.0/8', '::1'] });
    const err = await checkHost({ network }, 'localhost', 'x').catch((e: unknown) => e);
    expect((err as FatalError).code).toBe(ErrorCode.HOST_FORBIDDEN);
    expect((err as Error).message).toMatch(
      /the host localhost \(address (127\.0\.0\.1|::1)\) is refused by --deny-hosts/,
    );
    expect(await checkHost({}, 'localhost', 'x')).not.toHaveLength(0);
    expect(await checkHost({}, '/run/postgresql', 'x')).toEqual([]);
  });

  it('guardedLookup refuses the connection of a node:http request', async () => {
    const server = createServer((_q, s) => s.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const get = (lookup: ReturnType<typeof guardedLookup>) =>
      new Promise<string>((resolve, reject) => {
        const req = request({ host: 'localhost', port, family: 4, lookup, agent: false }, (res) => {
          res.resume();
          resolve(String(res.statusCode));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get(guardedLookup({}, 'x'))).toBe('200');
      const network = netPolicy({ deny: ['127.0.0.1'] });
      const err = await get(guardedLookup({ network }, 'x')).catch((e: unknown) => e);
      expect((err as FatalError).code).toBe(ErrorCode.HOST_FORBIDDEN);
    } finally {
      server.close();
    }
  });
});
