import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, netPolicy, type SluiceError } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSource } from '../../test/harness.ts';
import { csvSource } from '../csv/source.ts';
import { openLocation } from './index.ts';
import type { HttpOptions } from './options.ts';
import type { Location } from './types.ts';

const files: Record<string, Buffer> = {
  'data.txt': Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz'),
  'in.csv': Buffer.from('id,name\n1,Ann\n2,Bob\n3,Cy\n'),
};
const TOKEN = 's3cret-token-value';
const MODIFIED = 'Wed, 21 Oct 2026 07:28:00 GMT';

interface Seen {
  method: string;
  path: string;
  range: string | undefined;
  auth: string | undefined;
}
const seen: Seen[] = [];
const cut = new Set<string>();

/**
 * Serves `files` under a mode prefix: /files (ranges), /norange (ignores Range), /cut and
 * /cutnorange and /cutchange (the first GET of each file stops half-way), /fail (500), /auth (needs the bearer
 * token), /nohead (refuses HEAD), /stall (never answers).
 */
function serve(req: IncomingMessage, res: ServerResponse) {
  const [, mode = '', name = ''] = /^\/([^/]+)\/(.*)$/.exec(req.url ?? '') ?? [];
  seen.push({
    method: req.method!,
    path: req.url!,
    range: req.headers.range,
    auth: req.headers.authorization,
  });
  const body = files[name];
  if (mode === 'stall') return;
  // /moved/<name>: a redirect to /files/<name>; /meta/<name>: a redirect to the metadata address.
  if (mode === 'moved') return void res.writeHead(302, { location: `/files/${name}` }).end();
  if (mode === 'meta')
    return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
  if (mode === 'fail') return void res.writeHead(500).end('boom');
  if (mode === 'auth' && req.headers.authorization !== `Bearer ${TOKEN}`)
    return void res.writeHead(401).end();
  if (mode === 'nohead' && req.method === 'HEAD') return void res.writeHead(405).end();
  if (body === undefined) return void res.writeHead(404).end();
  const ranges = mode !== 'norange' && mode !== 'cutnorange';
  // /cutchange: the file is replaced after the cut, so the resumed request shows another ETag.
  const version = mode === 'cutchange' && cut.has(req.url!) ? 'v2' : 'v1';
  const headers: Record<string, string | number> = {
    etag: `"${name}-${version}"`,
    'last-modified': MODIFIED,
  };
  if (ranges) headers['accept-ranges'] = 'bytes';
  const m = ranges ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '') : null;
  let part = body;
  let status = 200;
  if (m) {
    const from = Number(m[1]);
    const to = m[2] === '' ? body.length - 1 : Math.min(Number(m[2]), body.length - 1);
    if (from >= body.length)
      return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    part = body.subarray(from, to + 1);
    status = 206;
    headers['content-range'] = `bytes ${from}-${to}/${body.length}`;
  }
  headers['content-length'] = part.length;
  res.writeHead(status, headers);
  if (req.method === 'HEAD') return void res.end();
  if (mode.startsWith('cut') && !cut.has(req.url!)) {
    cut.add(req.url!);
    // Half the body, then the connection drops, as a reset mid-download does.
    res.flushHeaders();
    return void res.write(part.subarray(0, part.length >> 1), () => res.socket?.destroy());
  }
  res.end(part);
}

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const signal = new AbortController().signal;
const guarded: string[] = [];
const ctx = {
  baseDir: '/nonexistent',
  stepId: 'test',
  guardConnect: <T>(endpoint: string, connect: () => Promise<T>) => {
    guarded.push(endpoint);
    return connect();
  },
};

async function open(http?: HttpOptions): Promise<Location> {
  return openLocation(`${base}/files/x`, http === undefined ? {} : { http }, ctx, 'test.0:csv: config.path');
}
async function text(l: Location, url: string, range: { start?: number; end?: number } = {}): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of l.read(url, { ...range, signal })) parts.push(c);
  return Buffer.concat(parts).toString();
}
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: SluiceError) => e,
  );

describe('http location', () => {
  it('stats a file from HEAD, or from one byte of a GET when HEAD is refused', async () => {
    const l = await open();
    expect(l.writable).toBe(false);
    const st = await l.stat(`${base}/files/data.txt`, signal);
    expect(st).toEqual({
      url: `${base}/files/data.txt`,
      size: 36,
      etag: '"data.txt-v1"',
      modified: new Date(MODIFIED),
    });
    expect((await l.stat(`${base}/nohead/data.txt`, signal)).size).toBe(36);
    expect(seen.filter((s) => s.path === '/nohead/data.txt').map((s) => [s.method, s.range])).toEqual([
      ['HEAD', undefined],
      ['GET', 'bytes=0-0'],
    ]);
    expect(guarded).toContain(`127.0.0.1:${new URL(base).port}`);
  });

  it('refuses the cloud metadata address, and a name resolving to a denied address', async () => {
    const l = await open();
    const meta = await failure(l.stat('http://169.254.169.254/latest/meta-data/', signal));
    expect(meta.code).toBe(ErrorCode.HOST_FORBIDDEN);
    expect(meta.message).toMatch(/the host 169\.254\.169\.254 is refused by the built-in rule/);
    const denied = await openLocation(
      `${base}/files/x`,
      {},
      { ...ctx, network: netPolicy({ deny: ['127.0.0.0/8', '::1'] }) },
      'test.0:csv: config.path',
    );
    const named = await failure(denied.stat(`http://localhost:${new URL(base).port}/files/data.txt`, signal));
    expect(named.code).toBe(ErrorCode.HOST_FORBIDDEN);
    expect(named.message).toMatch(/the host localhost \(address .*\) is refused by --deny-hosts/);
  });

  it('follows a redirect, and refuses one that leads where the policy forbids', async () => {
    const l = await open();
    expect(await text(l, `${base}/moved/data.txt`)).toBe(files['data.txt']!.toString());
    const refused = await failure(l.stat(`${base}/meta/data.txt`, signal));
    expect(refused.code).toBe(ErrorCode.HOST_FORBIDDEN);
    expect(refused.message).toMatch(/\(a redirect\): .*169\.254\.169\.254 is refused by the built-in rule/);
  });

  it('maps 404, 401 and 500 to NOT_FOUND, CONFIG and a retryable CONNECTION', async () => {
    const l = await open();
    const missing = await failure(l.stat(`${base}/files/nope.csv?sig=abc`, signal));
    expect(missing.code).toBe(ErrorCode.NOT_FOUND);
    expect(missing.message).toContain(`${base}/files/nope.csv?…`);
    expect(missing.message).not.toContain('sig=abc');
    const refused = await failure(l.stat(`${base}/auth/data.txt`, signal));
    expect(refused.code).toBe(ErrorCode.CONFIG);
    expect(refused.message).toMatch(/refused access \(HTTP 401 Unauthorized\); check http.bearerToken/);
    const broken = await failure(text(l, `${base}/fail/data.txt`));
    expect([broken.code, broken.retryable]).toEqual([ErrorCode.CONNECTION, true]);
    const down = await openLocation('http://127.0.0.1:1/x', {}, ctx, 'w');
    const unreachable = await failure(down.stat('http://127.0.0.1:1/x', signal));
    expect([unreachable.code, unreachable.retryable]).toEqual([ErrorCode.CONNECTION, true]);
  });

  it('reads byte ranges with Range requests', async () => {
    const l = await open();
    const before = seen.length;
    expect(await text(l, `${base}/files/data.txt`, { start: 3, end: 7 })).toBe('3456');
    expect(await text(l, `${base}/files/data.txt`, { start: 30 })).toBe('uvwxyz');
    expect(await text(l, `${base}/files/data.txt`, { start: 36 })).toBe('');
    expect(await text(l, `${base}/files/data.txt`)).toBe(files['data.txt']!.toString());
    const ranges = seen
      .slice(before)
      .filter((s) => s.path === '/files/data.txt' && s.method === 'GET')
      .map((s) => s.range);
    expect(ranges).toEqual(['bytes=3-6', 'bytes=30-', 'bytes=36-', undefined]);
  });

  it('skips the start itself when the server ignores Range', async () => {
    const l = await open();
    expect(await text(l, `${base}/norange/data.txt`, { start: 3, end: 7 })).toBe('3456');
    expect(await text(l, `${base}/norange/data.txt`, { start: 34 })).toBe('yz');
  });

  it('resumes a download cut mid-way from the byte it reached', async () => {
    const l = await open();
    expect(await text(l, `${base}/cut/data.txt`, { start: 2 })).toBe(
      files['data.txt']!.subarray(2).toString(),
    );
    const asked = seen.filter((s) => s.path === '/cut/data.txt').map((s) => s.range);
    expect(asked).toEqual(['bytes=2-', `bytes=${2 + 17}-`]);
  });

  it('fails retryably when a cut download cannot be resumed', async () => {
    const l = await open();
    const err = await failure(text(l, `${base}/cutnorange/data.txt`));
    expect([err.code, err.retryable]).toEqual([ErrorCode.CONNECTION, true]);
    expect(err.message).toMatch(/broke at byte 18 and the server does not take byte ranges/);
  });

  it('does not splice two versions of a file that changed during a resumed read', async () => {
    const l = await open();
    const err = await failure(text(l, `${base}/cutchange/data.txt`));
    expect([err.code, err.retryable]).toEqual([ErrorCode.CONNECTION, true]);
    expect(err.message).toMatch(/changed while it was being read/);
  });

  it('gives up on a server that does not answer within timeoutMs', async () => {
    const l = await open({ timeoutMs: 200 });
    const err = await failure(l.stat(`${base}/stall/data.txt`, signal));
    expect([err.code, err.retryable]).toEqual([ErrorCode.CONNECTION, true]);
    expect(err.message).toMatch(/no response within 200 ms/);
  });

  it('is read-only and cannot list', async () => {
    const l = await open();
    expect((await failure(l.put(`${base}/files/x`, '/tmp/x', signal))).message).toMatch(/read-only/);
    expect((await failure(l.delete(`${base}/files/x`, signal))).code).toBe(ErrorCode.CONFIG);
    const listing = (async () => {
      for await (const _ of l.list(`${base}/files/`, signal));
    })();
    expect((await failure(listing)).message).toMatch(/globs need a store that lists files/);
  });

  it('feeds the csv source, sending the bearer token and never showing it', async () => {
    const run = await readSource(csvSource, {
      path: `${base}/auth/in.csv`,
      http: { bearerToken: TOKEN, headers: { 'X-Trace': 't1' } },
    });
    expect(run.rows.map((r) => r.name)).toEqual(['Ann', 'Bob', 'Cy']);
    expect(run.harness.origin).toBe(`${base}/auth/in.csv`);
    expect(seen.filter((s) => s.path === '/auth/in.csv').every((s) => s.auth === `Bearer ${TOKEN}`)).toBe(
      true,
    );
    const wrong = await failure(
      readSource(csvSource, { path: `${base}/auth/in.csv`, http: { bearerToken: 'nope-token' } }),
    );
    expect(wrong.code).toBe(ErrorCode.CONFIG);
    expect(wrong.message).not.toContain('nope-token');
    expect(wrong.message).not.toContain(TOKEN);
  });
});
