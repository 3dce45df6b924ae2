import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type App, buildApp } from '../../src/api/app.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { backends } from '../helpers/backends.ts';
import { type TestPlatform, testPlatform, tokenFor } from '../helpers/platform.ts';

// Issue 13: inputs a fuzzing campaign sent that crashed the server, answered 5xx with SQL in
// the message, or answered in Fastify's shape instead of api-v1.md's.

const LIST_ROUTES = [
  '/users',
  '/jobs',
  '/pipelines',
  '/credentials',
  '/schedules',
  '/dlq',
  '/audit',
  '/alerts/rules',
  '/alerts/events',
  '/tokens',
];

describe.each(backends)('hostile requests on $name', ({ name }) => {
  let p: TestPlatform;
  let app: App;
  let base: string;
  let viewer: string;
  const logged: string[] = [];
  beforeAll(async () => {
    const destination = new Writable({
      write(chunk, _enc, done) {
        logged.push(String(chunk));
        done();
      },
    });
    p = await testPlatform(name, { log: createLogger({ level: 'error', destination }) });
    viewer = await tokenFor(p, 'viewer');
    app = await buildApp(p, {
      uiDir: false,
      routes: [
        async (api) => {
          // An unexpected failure whose message holds what must never reach a caller.
          api.get('/test/boom', { config: { access: 'public' } }, async () => {
            throw new Error('Failed query: select "password_hash" from "users" where id = $1\nparams: x');
          });
        },
      ],
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await p.close();
  });

  const send = async (
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    payload?: unknown,
    token: string | null = p.adminToken,
  ) => {
    const r = await app.inject({
      method,
      url: `/api/v1${url}`,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(Buffer.isBuffer(payload) ? { 'content-type': 'application/json' } : {}),
      },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: r.statusCode, body: JSON.parse(r.body), headers: r.headers };
  };
  const expectRefused = (
    r: { status: number; body: { error: { code: string; details: { path: string }[] } } },
    code: string,
    path?: string,
  ) => {
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body.error.code).toBe(code);
    if (path) expect(r.body.error.details.map((d) => d.path)).toContain(path);
  };

  it('answers non-finite and huge numbers in the query with a 400 naming the parameter', async () => {
    for (const route of LIST_ROUTES)
      for (const q of [
        'limit=1e400',
        'limit=Infinity',
        'limit=-Infinity',
        'offset=1e308',
        'offset=-1',
        'limit=1.5',
      ])
        expectRefused(
          await send('GET', `${route}?${q}`),
          'VALIDATION_FAILED',
          `querystring.${q.split('=')[0]}`,
        );
    const job = '00000000-0000-4000-8000-000000000000';
    expectRefused(
      await send('GET', `/jobs/${job}/logs?limit=1e400`),
      'VALIDATION_FAILED',
      'querystring.limit',
    );
  });

  it('validates dates, drops undeclared query parameters, and refuses NUL in the query', async () => {
    expectRefused(await send('GET', '/dlq?from=not-a-date'), 'VALIDATION_FAILED', 'querystring.from');
    expectRefused(await send('GET', '/jobs?to=yesterday'), 'VALIDATION_FAILED', 'querystring.to');
    expectRefused(await send('GET', '/audit?from=2026-13-45'), 'VALIDATION_FAILED', 'querystring.from');
    expect((await send('GET', '/users?bogus=%00')).status).toBe(200);
    expectRefused(await send('GET', '/pipelines?q=a%00b'), 'VALIDATION_FAILED', 'querystring.q');
    expectRefused(await send('GET', '/audit?username=%00'), 'VALIDATION_FAILED', 'querystring.username');
  });

  it('refuses NUL characters and oversized strings in bodies with the field, even before sign-in', async () => {
    const spec = {
      name: 'nul',
      flow: [
        { source: 'csv', with: { path: 'in.csv' } },
        { sink: 'ndjson', with: { path: 'out.ndjson' } },
      ],
    };
    expectRefused(
      await send('POST', '/pipelines', { spec, description: 'a\u0000b' }),
      'VALIDATION_FAILED',
      'body.description',
    );
    expectRefused(
      await send('POST', '/pipelines', { spec: { ...spec, description: 'x\u0000' } }),
      'VALIDATION_FAILED',
      'body.spec.description',
    );
    expectRefused(
      await send('POST', '/auth/login', { username: 'a\u0000b', password: 'x' }, null),
      'VALIDATION_FAILED',
      'body.username',
    );
    expectRefused(
      await send('POST', '/credentials', { name: 'x'.repeat(900_000), connectorType: 'postgres', data: {} }),
      'VALIDATION_FAILED',
      'body.name',
    );
    expectRefused(
      await send('POST', '/pipelines', { spec, description: 'd'.repeat(20_000) }),
      'VALIDATION_FAILED',
      'body.description',
    );
    expectRefused(
      await send('POST', '/users', { username: 'a\u0000', password: 'long-enough-1', role: 'viewer' }),
      'VALIDATION_FAILED',
    );
  });

  it('does not coerce body fields, refuses invalid UTF-8 and nesting beyond 64 levels', async () => {
    const spec = { name: 'typed', flow: [] };
    expectRefused(await send('POST', '/pipelines', { name: 42, spec }), 'VALIDATION_FAILED', 'body.name');
    expectRefused(
      await send('POST', '/users', { username: 12345678901, password: 'long-enough-1', role: 'viewer' }),
      'VALIDATION_FAILED',
      'body.username',
    );
    expectRefused(
      await send('POST', '/pipelines', { spec, description: null }),
      'VALIDATION_FAILED',
      'body.description',
    );
    const invalid = Buffer.concat([
      Buffer.from('{"name":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('","spec":{}}'),
    ]);
    expectRefused(await send('POST', '/pipelines', invalid), 'BODY_INVALID', 'body');
    let deep: unknown = 1;
    for (let i = 0; i < 3000; i++) deep = { a: deep };
    const r = await send('POST', '/pipelines', { spec: { name: 'deep', parameters: deep } });
    expectRefused(r, 'VALIDATION_FAILED');
    expect(r.body.error.message).toContain('nested deeper than 64 levels');
    const cut = await send('POST', '/pipelines', Buffer.from('{"spec": '));
    expectRefused(cut, 'BODY_INVALID', 'body');
    expect(cut.body.error.message).toMatch(/^body is not valid JSON: .*JSON/);
    // Issue 15: the parse error says where, as a line and column.
    const comma = await send('POST', '/pipelines', Buffer.from('{\n  "spec": {\n    "name": "x",\n  }\n}'));
    expectRefused(comma, 'BODY_INVALID', 'body');
    expect(comma.body.error.message).toMatch(/line 4,? column 3/);
  });

  it('names the allowed values and the closest branch of a union, not "must be equal to constant" thrice', async () => {
    const role = await send('POST', '/users', {
      username: 'someone',
      password: 'long-enough-1',
      role: 'owner',
    });
    expectRefused(role, 'VALIDATION_FAILED', 'body.role');
    expect(role.body.error.details).toEqual([
      { path: 'body.role', message: 'must be one of: admin, operator, viewer' },
    ]);
    const kind = await send('GET', '/connectors?kind=pipe');
    expect(kind.body.error.details).toEqual([
      { path: 'querystring.kind', message: 'must be one of: source, transform, sink, task' },
    ]);
    const nul = await send('GET', '/pipelines?q=%00');
    expect(nul.body.error.details).toEqual([
      { path: 'querystring.q', message: 'must not contain NUL characters (\\u0000)' },
    ]);
  });

  it('checks a parameter pattern that backtracks exponentially in linear time', async () => {
    const spec = {
      name: 'redos',
      parameters: {
        type: 'object',
        properties: { p: { type: 'string', pattern: '(a+)+$', default: `${'a'.repeat(40)}!` } },
      },
      flow: [
        { source: 'csv', with: { path: 'in.csv' } },
        { sink: 'ndjson', with: { path: 'out.ndjson' } },
      ],
    };
    const created = await send('POST', '/pipelines', { spec: { ...spec, parameters: {} } });
    // With a backtracking engine this answer would take longer than the universe has left.
    const r = await send('POST', `/pipelines/${created.body.id}/validate`, { spec }, viewer);
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(true);
  });

  it('answers an unexpected error with a code, a generic message and an id the log has', async () => {
    const r = await send('GET', '/test/boom', undefined, null);
    expect(r.status).toBe(500);
    expect(Object.keys(r.body)).toEqual(['error']);
    expect(Object.keys(r.body.error).sort()).toEqual(['code', 'id', 'message']);
    expect(r.body.error).toMatchObject({ code: 'INTERNAL', message: 'internal error' });
    const line = logged.find((l) => l.includes(r.body.error.id));
    expect(line).toContain('password_hash');
  });

  it("maps the framework's errors into the API's shape", async () => {
    const bad = await app.inject({
      method: 'GET',
      url: '/api/v1/jobs/%zz',
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).error).toMatchObject({ code: 'BAD_REQUEST', details: [{ path: 'url' }] });
    expect(JSON.parse(bad.body).error.message).toContain('percent-encoded');
    const media = await app.inject({
      method: 'POST',
      url: '/api/v1/pipelines',
      headers: { authorization: `Bearer ${p.adminToken}`, 'content-type': 'text/csv' },
      payload: 'a,b',
    });
    expect(media.statusCode).toBe(415);
    expect(JSON.parse(media.body).error).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      details: [{ path: 'headers.content-type' }],
    });
    // Headers beyond Node's 16 KiB are refused by its HTTP parser, before Fastify sees a request.
    const big = await new Promise<{ status: number; body: string }>((done, fail) => {
      const req = httpRequest(
        `${base}/api/v1/auth/me`,
        { headers: { 'x-big': 'h'.repeat(20_000) } },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => done({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', fail);
      req.end();
    });
    expect(big.status).toBe(431);
    expect(JSON.parse(big.body).error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: [{ path: 'headers' }],
    });
  });

  it('answers 429 as RATE_LIMITED, and malformed login bodies do not use up the login limit', async () => {
    for (let i = 0; i < 30; i++)
      expectRefused(
        await send('POST', '/auth/login', { username: 42, password: [] }, null),
        'VALIDATION_FAILED',
      );
    const ok = await send('POST', '/auth/login', { username: 'viewer', password: 'viewer-password-1' }, null);
    expect(ok.status).toBe(200);
    const limited = await buildApp(p, { uiDir: false, rateLimit: 2 });
    try {
      const codes: number[] = [];
      let last = '';
      for (let i = 0; i < 3; i++) {
        const r = await limited.inject({
          method: 'GET',
          url: '/api/v1/auth/me',
          headers: { authorization: `Bearer ${viewer}` },
        });
        codes.push(r.statusCode);
        last = r.body;
        if (r.statusCode === 429) expect(r.headers['retry-after']).toBeDefined();
      }
      expect(codes).toEqual([200, 200, 429]);
      expect(JSON.parse(last).error).toMatchObject({ code: 'RATE_LIMITED', details: [] });
    } finally {
      await limited.close();
    }
  });

  it('answers any WebSocket frame that is not a subscription with an error, and keeps serving', async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/ws?token=${viewer}`);
    await new Promise((r) => ws.once('open', r));
    const answers: { type: string; payload: { message: string } }[] = [];
    ws.on('message', (raw) => answers.push(JSON.parse(String(raw))));
    const frames = [
      'null',
      '[]',
      '"x"',
      '5',
      'true',
      '{}',
      '{"type":"subscribe"}',
      '{"type":"subscribe","channel":5}',
      '{"type":"subscribe","channel":null}',
      '{"type":"nope","channel":"global"}',
      '{"type":"subscribe","channel":"global","x":1}',
      'not json',
      '{"channel":{"a":1},"type":"unsubscribe"}',
    ];
    for (const f of frames) ws.send(f);
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await expect.poll(() => answers.length, { timeout: 5000 }).toBe(frames.length + 1);
    expect(answers.every((a) => a.type === 'error' && a.payload.message.length > 0)).toBe(true);
    expect(answers[0]!.payload.message).toContain('subscribe');
    ws.send(JSON.stringify({ type: 'subscribe', channel: 'global' }));
    await new Promise((r) => setTimeout(r, 200));
    expect(answers.length).toBe(frames.length + 1);
    ws.close();
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
