import { ErrorCode, type Row, toSluiceError } from '@sluice/core';
import { afterEach, describe, expect, it } from 'vitest';
import { expectRejectedAt } from '../../test/conformance-checks.ts';
import { openSink } from '../../test/harness.ts';
import { type Api, type Intercept, rowsReceiver, send, startApi } from '../../test/http-api.ts';
import { sendId as idempotencyKey } from '../shared/send-ids.ts';
import { httpSink } from './sink.ts';

// The http sink against a real HTTP server each test starts (node:http on port 0), which keeps
// the rows it takes as an API honouring Idempotency-Key would (see rowsReceiver).

const apis: Api[] = [];
afterEach(async () => {
  await Promise.all(apis.splice(0).map((a) => a.close()));
});

/** A server taking rows; `refuse` answers a request instead (a fault, a refusal). */
async function receiver(refuse?: Intercept) {
  const r = rowsReceiver(refuse);
  const a = await startApi([], { intercept: r.intercept });
  apis.push(a);
  return { url: `${a.url}/rows`, seen: a.seen, rows: r.rows };
}

const rows = (n: number, from = 1): Row[] =>
  Array.from({ length: n }, (_, i) => ({ id: from + i, name: `row ${from + i}` }));
const fast = { retries: { attempts: 3, initialDelayMs: 10, maxDelayMs: 50 } };

/** Opens the sink, writes each of `batches`, closes it. */
async function load(config: Record<string, unknown>, batches: Row[][]) {
  const { writer, harness } = await openSink(httpSink, { ...fast, ...config });
  await writer.start(undefined);
  for (const b of batches) await writer.write(b);
  return { result: await writer.close(), harness };
}

const keyOf = (s: { headers: Record<string, unknown> }) => s.headers['idempotency-key'] as string;

describe('http sink: bodies and requests', () => {
  it('json: POSTs the rows as one JSON array, with a key per request', async () => {
    const api = await receiver();
    const { result } = await load({ url: api.url }, [rows(2), rows(1, 3)]);
    expect(api.rows).toEqual(rows(3));
    expect(api.seen).toHaveLength(1);
    expect(api.seen[0]).toMatchObject({ method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(api.seen[0]!.body)).toEqual(rows(3));
    expect(keyOf(api.seen[0]!)).toMatch(/^[0-9a-f]{32}$/);
    expect(result).toMatchObject({
      rowsWritten: 3,
      verification: { level: 'count', rowsHanded: 3, rowsFound: 3 },
    });
  });

  it('ndjson: one row a line, as application/x-ndjson', async () => {
    const api = await receiver();
    await load({ url: api.url, format: 'ndjson' }, [rows(3)]);
    expect(api.seen[0]!.headers['content-type']).toBe('application/x-ndjson');
    expect(api.seen[0]!.body).toBe(
      rows(3)
        .map((r) => `${JSON.stringify(r)}\n`)
        .join(''),
    );
    expect(api.rows).toEqual(rows(3));
  });

  it('perRow: one request per row, its body the object, each with its own key', async () => {
    const api = await receiver();
    const { result } = await load({ url: api.url, perRow: true, batchSize: 2 }, [rows(3)]);
    expect(api.seen.map((s) => JSON.parse(s.body))).toEqual(rows(3));
    expect(new Set(api.seen.map(keyOf)).size).toBe(3);
    expect(result.rowsWritten).toBe(3);
  });

  it('PUT and PATCH, and headers of the config (a Content-Type given wins)', async () => {
    const api = await receiver();
    await load({ url: api.url, method: 'PUT' }, [rows(1)]);
    await load(
      { url: api.url, method: 'PATCH', headers: { 'X-Tenant': 't1', 'content-type': 'application/json' } },
      [rows(1, 2)],
    );
    expect(api.seen.map((s) => s.method)).toEqual(['PUT', 'PATCH']);
    expect(api.seen[1]!.headers).toMatchObject({ 'x-tenant': 't1', 'content-type': 'application/json' });
    expect(api.rows).toEqual(rows(2));
  });

  it('cuts requests of batchSize rows whatever the writes, and a checkpoint ends one', async () => {
    const api = await receiver();
    const { writer } = await openSink(httpSink, { url: api.url, batchSize: 3 });
    await writer.start(undefined);
    await writer.write(rows(2));
    await writer.write(rows(5, 3));
    expect(api.seen.map((s) => JSON.parse(s.body).length)).toEqual([3, 3]);
    await writer.commit({ seq: 1, position: 7 });
    await writer.write(rows(4, 8));
    expect((await writer.close()).rowsWritten).toBe(11);
    expect(api.seen.map((s) => JSON.parse(s.body).length)).toEqual([3, 3, 1, 3, 1]);
    expect(api.rows).toEqual(rows(11));
  });

  it('sends nothing for no rows', async () => {
    const api = await receiver();
    const { result } = await load({ url: api.url }, [[]]);
    expect(api.seen).toEqual([]);
    expect(result.rowsWritten).toBe(0);
  });
});

describe('http sink: idempotency keys', () => {
  it('a request retried after a 500 carries the same key, and its rows are taken once', async () => {
    const api = await receiver((_, res, n) => {
      if (n !== 1) return false;
      send(res, 500, { error: 'try again' });
      return true;
    });
    const { result } = await load({ url: api.url }, [rows(2)]);
    expect(api.seen).toHaveLength(2);
    expect(keyOf(api.seen[1]!)).toBe(keyOf(api.seen[0]!));
    expect(api.rows).toEqual(rows(2));
    expect(result.rowsWritten).toBe(2);
  });

  it('a resumed run sends a request not committed with the key it had, continuing the sequence', async () => {
    const api = await receiver();
    const config = { url: api.url, batchSize: 2 };
    const a = await openSink(httpSink, config);
    await a.writer.start(undefined);
    await a.writer.write(rows(2));
    const state = (await a.writer.commit({ seq: 1, position: 2 })) as { nonce: string; sent: number };
    expect(state).toEqual({ nonce: expect.any(String), sent: 1 });
    await a.writer.write(rows(2, 3)); // sent, answered, then the run is killed before its checkpoint
    await a.writer.abort(new Error('crash'));
    const b = await openSink(httpSink, config);
    await b.writer.start(state);
    await b.writer.write(rows(3, 3));
    expect((await b.writer.close()).rowsWritten).toBe(3);
    const keys = api.seen.map(keyOf);
    expect(keys[2]).toBe(keys[1]);
    expect(keys).toEqual([0, 1, 1, 2].map((seq) => idempotencyKey(state.nonce, seq)));
    // The server honoured the key: rows 3 and 4 once.
    expect(api.rows).toEqual(rows(5));
  });

  it('a fresh run starts a new sequence: its keys differ from the last run', async () => {
    const api = await receiver();
    await load({ url: api.url }, [rows(1)]);
    await load({ url: api.url }, [rows(1)]);
    expect(keyOf(api.seen[0]!)).not.toBe(keyOf(api.seen[1]!));
    expect(api.rows).toEqual([...rows(1), ...rows(1)]);
  });

  it('refuses a checkpoint that is not its own', async () => {
    const { writer } = await openSink(httpSink, { url: 'http://127.0.0.1:1/rows' });
    const err = await writer.start({ bytes: 10 }).catch((e: unknown) => toSluiceError(e));
    expect(err).toMatchObject({ code: ErrorCode.CHECKPOINT });
  });
});

describe('http sink: refusals and auth', () => {
  const SECRET = 'sink-B3arer-t0ken';
  const auth = { type: 'bearer', token: SECRET };
  /** 422 for any request holding a row with a negative id, quoting the Authorization header it got. */
  const strict: Intercept = (s, res) => {
    if (s.headers.authorization !== `Bearer ${SECRET}`) {
      send(res, 401, { error: 'unauthorized' });
      return true;
    }
    if (!s.body.includes('"id":-')) return false;
    send(res, 422, { error: 'id must be positive', echo: s.headers.authorization });
    return true;
  };

  it('onError quarantine: a refused request sets its rows aside with the status and the answer, masked', async () => {
    const api = await receiver(strict);
    const bad = [{ id: -1, name: 'neg' }, ...rows(1, 4)];
    const { result, harness } = await load({ url: api.url, auth, batchSize: 2, onError: 'quarantine' }, [
      rows(2),
      bad,
      rows(1, 5),
    ]);
    expect(api.rows).toEqual([...rows(2), ...rows(1, 5)]);
    expect(harness.quarantined.map((q) => q.row)).toEqual(bad);
    const reason = harness.quarantined[0]!.reason;
    expect(reason).toMatch(/^HTTP 422: \{"error":"id must be positive","echo":"Bearer \*\*\*"\}$/);
    expect(reason).not.toContain(SECRET);
    expect(result).toMatchObject({
      rowsWritten: 3,
      verification: { level: 'count', rowsHanded: 3, rowsFound: 3 },
    });
  });

  it('onError fail: the step fails naming the URL, the status and the answer, with the token masked', async () => {
    const api = await receiver(strict);
    const err = toSluiceError(
      await load({ url: api.url, auth }, [[{ id: -1, name: 'neg' }]]).catch((e: unknown) => e),
    );
    expect(err.code).toBe(ErrorCode.CONFIG);
    expect(err.message).toContain(`${api.url}`);
    expect(err.message).toMatch(/HTTP 422: \{"error":"id must be positive".*onError: quarantine/);
    expect(err.message).not.toContain(SECRET);
  });

  it('a long answer is quoted to 300 bytes, on one line', async () => {
    const api = await receiver((_, res) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(`bad\nrow ${'é'.repeat(400)}`);
      return true;
    });
    const { harness } = await load({ url: api.url, onError: 'quarantine' }, [rows(1)]);
    const reason = harness.quarantined[0]!.reason;
    expect(reason).toMatch(/^HTTP 400: bad row é+…$/);
    expect(Buffer.byteLength(reason.slice('HTTP 400: '.length, -1))).toBeLessThanOrEqual(300);
  });

  it('401 fails the step whatever onError says, the token masked', async () => {
    const api = await receiver(strict);
    const wrong = 'wrong-t0ken-123';
    const err = toSluiceError(
      await load({ url: api.url, auth: { type: 'bearer', token: wrong }, onError: 'quarantine' }, [
        rows(1),
      ]).catch((e: unknown) => e),
    );
    expect(err.code).toBe(ErrorCode.CONFIG);
    expect(err.message).toMatch(/refused access \(HTTP 401/);
    expect(err.message).not.toContain(wrong);
    expect(api.seen).toHaveLength(1);
  });

  it('404 fails as a wrong URL rather than quarantining every row', async () => {
    const api = await receiver((_, res) => {
      send(res, 404, { error: 'no route' });
      return true;
    });
    const err = await load({ url: api.url, onError: 'quarantine' }, [rows(1)]).catch((e: unknown) => e);
    expect(toSluiceError(err)).toMatchObject({ code: ErrorCode.NOT_FOUND });
  });

  it('the connection check sends OPTIONS with the auth: any answer but 401/403 is reached, 401 is refused', async () => {
    const api = await receiver(strict);
    const ctx = { signal: new AbortController().signal, baseDir: '.', stepId: 'check' };
    const check = (cfg: Record<string, unknown>) =>
      httpSink.connection!.check({ timeoutMs: 5000, url: api.url, ...cfg } as never, ctx);
    expect(await check({ auth })).toMatch(/answered HTTP 400 .* with bearer auth/);
    expect(api.seen[0]!.method).toBe('OPTIONS');
    const err = (await check({ auth: { type: 'bearer', token: 'nope-nope' } }).catch(
      (e: Error) => e,
    )) as Error;
    expect(err.message).toMatch(/refused access \(HTTP 401/);
  });
});

describe('http sink: config', () => {
  const url = 'http://127.0.0.1/rows';
  const cases: [Record<string, unknown>, string][] = [
    [{ url, method: 'DELETE' }, 'with.method'],
    [{ url, format: 'csv' }, 'with.format'],
    [{ url, onError: 'skip' }, 'with.onError'],
    [{ url, batchSize: 0 }, 'with.batchSize'],
    [{ url, verify: 'content' }, 'with.verify'],
    [{ url, idempotencyHeader: 'Idem Key' }, 'with.idempotencyHeader'],
    [{ url, pagination: { type: 'link' } }, 'with.pagination'],
    [{ url: 'ftp://example.com/rows' }, 'with.url'],
    [{ url, perRow: true, format: 'ndjson' }, 'with.format'],
    [{ url, headers: { 'idempotency-key': 'fixed' } }, 'with.headers.idempotency-key'],
    [{ url, auth: { type: 'bearer' } }, 'with.auth.token'],
  ];
  for (const [config, path] of cases)
    it(`rejects ${JSON.stringify(config)} at ${path}`, () => {
      expectRejectedAt(httpSink, config, path);
    });
});
