import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type Row, type RunEvent, runPipeline, toSluiceError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { openSink, readSource, sourceContext } from '../../test/harness.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL } from '../../test/pg-schema.ts';
import {
  addEntries,
  entries,
  freshStream,
  groupLag,
  pendingCount,
  REDIS_URL,
  readAndDie,
  redis,
} from '../../test/redis-stream.ts';
import { createRegistry } from '../registry.ts';
import { sendId } from '../shared/send-ids.ts';
import { redisStreamSink } from './sink.ts';
import { redisStreamSource } from './source.ts';

// Against the Redis 7 server on this machine (127.0.0.1:6379): every test has streams of its own.
const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-stream-'));
let runs = 0;

async function run(
  flow: object[],
  extra: object = {},
  opts: { signal?: AbortSignal; resume?: boolean } = {},
) {
  const events: RunEvent[] = [];
  const name = (extra as { name?: string }).name ?? `redis-stream-${++runs}`;
  const report = await runPipeline(
    { name, flow, ...extra },
    {
      registry: createRegistry(),
      stateDir: join(dir, `state-${name}`),
      baseDir: dir,
      onEvent: (e) => events.push(e),
      ...opts,
    },
  );
  const logs = events.flatMap((e) => (e.type === 'log' ? [e.message] : []));
  return { report, logs };
}

const ndjson = (file: string): Row[] =>
  readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Row);

const numbered = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `n${i + 1}` }));

describe('redis-stream source in a flow', () => {
  it('reads every entry, acknowledges each once its row is committed, and maxPending asks for a checkpoint', async () => {
    const stream = freshStream('window');
    const ids = await addEntries(stream, numbered(300));
    const { report, logs } = await run(
      [
        {
          source: 'redis-stream',
          with: {
            url: REDIS_URL,
            stream,
            group: 'g',
            maxPending: 50,
            batchSize: 20,
            stopAfter: { messages: 300 },
          },
        },
        { sink: 'ndjson', with: { path: 'window.ndjson' } },
      ],
      // Neither rows nor time would checkpoint before the end: only a full maxPending does.
      { checkpointInterval: '1h' },
    );
    expect(report.status).toBe('success');
    const rows = ndjson('window.ndjson');
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(rows[0]!._meta).toEqual({
      id: ids[0],
      subject: stream,
      timestamp: new Date(Number(ids[0]!.split('-')[0])).toISOString(),
      redelivered: false,
      headers: {},
    });
    expect(logs.filter((l) => /^checkpoint \d+ committed/.test(l)).length).toBeGreaterThanOrEqual(300 / 50);
    expect(await pendingCount(stream, 'g')).toBe(0);
    expect(await groupLag(stream, 'g')).toBe(0);
  });

  it('quarantines a body that is not a JSON object, or an entry without the field, with its entry id, and acknowledges them', async () => {
    const stream = freshStream('bad');
    const ids = await addEntries(stream, [
      { id: 1 },
      'not json',
      '[1,2]',
      { fields: { other: 'x' } },
      { id: 5 },
    ]);
    const { report } = await run([
      {
        source: 'redis-stream',
        with: { url: REDIS_URL, stream, group: 'g', meta: false, stopAfter: { idleSeconds: 0.5 } },
      },
      { sink: 'ndjson', with: { path: 'bad.ndjson' } },
    ]);
    expect(report.status).toBe('success');
    expect(ndjson('bad.ndjson')).toEqual([{ id: 1 }, { id: 5 }]);
    const quarantined = readFileSync(report.quarantine.path!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(quarantined.map((q) => q.reason)).toEqual([
      expect.stringMatching(new RegExp(`^entry ${ids[1]} \\(stream "${stream}"\\): the body is not JSON`)),
      expect.stringMatching(
        new RegExp(`^entry ${ids[2]} .*: the body is JSON but not an object \\(an array\\)`),
      ),
      expect.stringMatching(
        new RegExp(`^entry ${ids[3]} .*: the entry has no field "data" \\(it has "other"\\)`),
      ),
    ]);
    expect(quarantined[0].raw).toBe('not json');
    expect(quarantined[2].raw).toBe('{"other":"x"}');
    expect(await pendingCount(stream, 'g')).toBe(0);
  });

  it('reads text, bytes and all fields', async () => {
    const stream = freshStream('formats');
    await addEntries(stream, ['plain line', 'ção']);
    const base = { url: REDIS_URL, stream, meta: false, stopAfter: { messages: 2 } };
    const text = await readSource(redisStreamSource, { ...base, group: 'text', format: 'text' });
    expect(text.rows).toEqual([{ body: 'plain line' }, { body: 'ção' }]);
    const bytes = await readSource(redisStreamSource, { ...base, group: 'bytes', format: 'bytes' });
    expect(bytes.rows).toEqual([
      { body: Buffer.from('plain line').toString('base64') },
      { body: Buffer.from('ção').toString('base64') },
    ]);
    const other = freshStream('fields');
    await addEntries(other, [{ fields: { sku: 'a-1', qty: '3' } }]);
    const fields = await readSource(redisStreamSource, {
      url: REDIS_URL,
      stream: other,
      group: 'g',
      format: 'fields',
      stopAfter: { messages: 1 },
    });
    expect(fields.rows).toEqual([
      { sku: 'a-1', qty: '3', _meta: expect.objectContaining({ subject: other, redelivered: false }) },
    ]);
  });

  it("re-reads this consumer's own pending entries first, marked redelivered, then new ones", async () => {
    const stream = freshStream('own');
    await addEntries(stream, numbered(4));
    const config = { url: REDIS_URL, stream, group: 'g', consumer: 'c1', batchSize: 2 };
    // A run that read two entries and ended before its checkpoint.
    const first = await readSource(redisStreamSource, config, { maxBatches: 1, acknowledge: false });
    expect(first.rows.map((r) => r.id)).toEqual([1, 2]);
    expect(await pendingCount(stream, 'g')).toBe(2);
    const again = await readSource(redisStreamSource, { ...config, stopAfter: { messages: 4 } });
    expect(again.rows.map((r) => [r.id, (r._meta as { redelivered: boolean }).redelivered])).toEqual([
      [1, true],
      [2, true],
      [3, false],
      [4, false],
    ]);
    expect(await pendingCount(stream, 'g')).toBe(0);
  });

  it('claims, after claimIdleMs, the entries a dead consumer left pending (XAUTOCLAIM)', async () => {
    const stream = freshStream('claim');
    await addEntries(stream, numbered(5));
    const dead = await readAndDie(stream, 'g', 'dead', 3);
    expect(await pendingCount(stream, 'g')).toBe(3);
    await new Promise((r) => setTimeout(r, 300));
    const r = await readSource(redisStreamSource, {
      url: REDIS_URL,
      stream,
      group: 'g',
      consumer: 'alive',
      claimIdleMs: 200,
      stopAfter: { messages: 5 },
    });
    const got = r.rows.map((row) => row._meta as { id: string; redelivered: boolean });
    expect(got.filter((m) => m.redelivered).map((m) => m.id)).toEqual(dead);
    expect(r.rows.map((row) => row.id).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(await pendingCount(stream, 'g')).toBe(0);
    // Entries pending with a live consumer for less than claimIdleMs stay its own.
    const other = freshStream('young');
    await addEntries(other, numbered(2));
    await readAndDie(other, 'g', 'busy', 2);
    const none = await readSource(redisStreamSource, {
      url: REDIS_URL,
      stream: other,
      group: 'g',
      consumer: 'alive',
      stopAfter: { idleSeconds: 0.4 },
    });
    expect(none.rows).toEqual([]);
    expect(await pendingCount(other, 'g')).toBe(2);
  });

  it('drains on cancel: what it read is written and acknowledged, the rest stays unread in the group', async () => {
    const stream = freshStream('cancel');
    await addEntries(stream, numbered(3000));
    const ac = new AbortController();
    const report = await runPipeline(
      {
        name: 'redis-stream-cancel',
        checkpointEvery: 200,
        flow: [
          {
            source: 'redis-stream',
            with: { url: REDIS_URL, stream, group: 'g', maxPending: 100, batchSize: 50 },
          },
          { transform: 'filter', with: { where: 'id > 0' } },
          { sink: 'ndjson', with: { path: 'cancel.ndjson' } },
        ],
      },
      {
        registry: createRegistry(),
        stateDir: join(dir, 'state-cancel'),
        baseDir: dir,
        signal: ac.signal,
        onEvent: (e) => {
          if (e.type === 'log' && /^checkpoint 2 committed/.test(e.message))
            ac.abort(new Error('cancelled by the test'));
        },
      },
    );
    expect(report.status).toBe('cancelled');
    const written = ndjson('cancel.ndjson');
    expect(written.length).toBeGreaterThanOrEqual(200);
    expect(written.length).toBeLessThan(3000);
    expect(new Set(written.map((r) => r.id)).size).toBe(written.length);
    // Everything written was acknowledged; nothing else was delivered.
    expect(await pendingCount(stream, 'g')).toBe(0);
    expect(await groupLag(stream, 'g')).toBe(3000 - written.length);
  });

  it("reports the group's lag, and a lost connection is retryable", async () => {
    const stream = freshStream('lag');
    await addEntries(stream, numbered(10));
    const made = sourceContext(redisStreamSource, { url: REDIS_URL, stream, group: 'g', batchSize: 2 });
    // A name of its own: the connection is found by it (CLIENT LIST) and only it is killed.
    const name = `test.0:redis-stream-${stream.slice(-8)}`;
    const { harness } = made;
    const ctx = { ...made.ctx, componentId: name };
    const lags: (number | undefined)[] = [];
    const err = await (async () => {
      for await (const b of redisStreamSource.read(ctx as Parameters<typeof redisStreamSource.read>[0])) {
        lags.push(b.lag);
        // Once the lag came back, the server drops the source's connection.
        if (b.lag !== undefined && lags.length > 1)
          for (const c of await (await redis()).clientList())
            if (c.name === name) await (await redis()).clientKill({ filter: 'ID', id: c.id });
      }
    })().catch((e: unknown) => e);
    await harness.acknowledger?.close();
    expect(lags.find((l) => l !== undefined)).toBe(10);
    expect(toSluiceError(err).retryable).toBe(true);
    expect((err as Error).message).toMatch(/lost the connection to Redis at 127\.0\.0\.1:6379/);
  });

  it('creates a missing stream and group (MKSTREAM), and refuses a key of another type with CONFIG', async () => {
    const stream = freshStream('missing');
    const made = await readSource(redisStreamSource, {
      url: REDIS_URL,
      stream,
      group: 'g',
      start: '$',
      stopAfter: { idleSeconds: 0.2 },
    });
    expect(made.rows).toEqual([]);
    expect(await (await redis()).type(stream)).toBe('stream');
    const plain = freshStream('plain');
    await (await redis()).set(plain, 'x');
    const err = await readSource(redisStreamSource, { url: REDIS_URL, stream: plain, group: 'g' }).catch(
      (e: unknown) => e,
    );
    expect(toSluiceError(err).code).toBe(ErrorCode.CONFIG);
    expect((err as Error).message).toContain(
      `create consumer group "g" on stream "${plain}": the key holds another type`,
    );
  });

  it('names a refused login without the password', async () => {
    const err = await readSource(redisStreamSource, {
      url: 'redis://sluice:wrong-pass-9@127.0.0.1:6379/0',
      stream: 's',
      group: 'g',
    }).catch((e: unknown) => e);
    expect(toSluiceError(err).code).toBe(ErrorCode.CONNECTION);
    expect((err as Error).message).toMatch(
      /Redis at 127\.0\.0\.1:6379 refused user "sluice".*check the user and password/,
    );
    expect((err as Error).message).toContain('redis://sluice:***@127.0.0.1:6379/0');
    expect((err as Error).message).not.toContain('wrong-pass-9');
  });
});

describe('redis-stream: a run that fails mid-stream, then resumes', () => {
  const db = freshSchemaPerTest();

  it('holds every entry once in an upsert table, and leaves nothing pending', async () => {
    const N = 600;
    const stream = freshStream('crash');
    await addEntries(stream, numbered(N));
    const table = `${db.schema}.orders`;
    // The sink's commit fails once, at row 250: the run fails with entries read and not acknowledged.
    await db.admin.query(`
      CREATE TABLE ${table} (id bigint PRIMARY KEY, name text);
      CREATE SEQUENCE ${db.schema}.trips;
      CREATE FUNCTION ${db.schema}.trip() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.id = 250 THEN
            IF nextval('${db.schema}.trips') = 1 THEN RAISE EXCEPTION 'injected failure'; END IF;
          END IF;
          RETURN NEW;
        END $$;
      CREATE TRIGGER trip BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${db.schema}.trip();`);
    const flow = [
      {
        source: 'redis-stream',
        with: {
          url: REDIS_URL,
          stream,
          group: 'g',
          batchSize: 40,
          meta: false,
          stopAfter: { idleSeconds: 1 },
        },
      },
      {
        sink: 'postgres',
        with: { url: TEST_DATABASE_URL, dbSchema: db.schema, table: 'orders', mode: 'upsert', key: ['id'] },
      },
    ];
    const extra = { name: `redis-crash-${db.schema}`, checkpointEvery: 100, retry: { attempts: 1 } };
    const failed = await run(flow, extra);
    expect(failed.report.status).toBe('failed');
    expect(await pendingCount(stream, 'g')).toBeGreaterThan(0);
    const resumed = await run(flow, extra, { resume: true });
    expect(resumed.report.status).toBe('success');
    const { rows } = await db.admin.query<{ id: string; name: string }>(
      `SELECT id, name FROM ${table} ORDER BY id`,
    );
    expect(rows.map((r) => [Number(r.id), r.name])).toEqual(numbered(N).map((o) => [o.id, o.name]));
    expect(await pendingCount(stream, 'g')).toBe(0);
    expect(await groupLag(stream, 'g')).toBe(0);
  });
});

describe('redis-stream sink', () => {
  it('adds entries with a msgid a resumed run repeats, pipelined per batch', async () => {
    const stream = freshStream('sink');
    const rows = [{ id: 1 }, { id: 2 }, { id: 3 }];
    const a = await openSink(redisStreamSink, { url: REDIS_URL, stream, batchSize: 2 });
    await a.writer.start(undefined);
    await a.writer.write(rows.slice(0, 1));
    const state = (await a.writer.commit({ seq: 1, position: 1 })) as { nonce: string; sent: number };
    await a.writer.write(rows.slice(1)); // a full batch: added, then the crash
    await a.writer.abort(new Error('crash'));
    const b = await openSink(redisStreamSink, { url: REDIS_URL, stream, batchSize: 2 });
    await b.writer.start(state);
    await b.writer.write(rows.slice(1));
    expect((await b.writer.close()).rowsWritten).toBe(2);
    const got = await entries(stream);
    // At least once: rows 2 and 3 were added twice, each time under the same msgid.
    expect(got.map((e) => JSON.parse(e.fields.data!).id)).toEqual([1, 2, 3, 2, 3]);
    expect(got.map((e) => e.fields.msgid)).toEqual([0, 1, 2, 1, 2].map((n) => sendId(state.nonce, n)));
  });

  it('routes by streamField, quarantines a row without one, sends text bodies and trims with maxLen ~', async () => {
    const a = freshStream('route-a');
    const { writer, harness } = await openSink(redisStreamSink, {
      url: REDIS_URL,
      streamField: 'to',
      format: 'text',
      messageIdField: 'id',
      maxLen: 10,
    });
    await writer.start(undefined);
    const many = Array.from({ length: 500 }, (_, i) => ({ id: `k${i}`, to: a, body: `line ${i}` }));
    await writer.write([{ id: 'x', body: 'nowhere' }, ...many]);
    expect((await writer.close()).rowsWritten).toBe(500);
    expect(harness.quarantined.map((q) => q.reason)).toEqual(['the stream field "to" is missing']);
    const got = await entries(a);
    // Approximate trimming keeps whole nodes (100 entries by default): fewer than added, at least 10.
    expect(got.length).toBeGreaterThanOrEqual(10);
    expect(got.length).toBeLessThan(500);
    expect(got.at(-1)!.fields).toEqual({ body: 'line 499', msgid: 'k499' });
  });

  it('fails with CONFIG when the key holds another type', async () => {
    const key = freshStream('wrong');
    await (await redis()).set(key, 'x');
    const { writer } = await openSink(redisStreamSink, { url: REDIS_URL, stream: key });
    await writer.start(undefined);
    await writer.write([{ id: 1 }]);
    const err = await writer.commit({ seq: 1, position: 1 }).catch((e: unknown) => e);
    expect(toSluiceError(err).code).toBe(ErrorCode.CONFIG);
    expect((err as Error).message).toMatch(/cannot add 1 entries \(XADD\): the key holds another type/);
    await writer.abort(err);
  });

  it('moves a stream to another through a flow', async () => {
    const from = freshStream('from');
    const to = freshStream('to');
    await addEntries(from, [{ id: 1 }, { id: 2 }]);
    const { report } = await run([
      {
        source: 'redis-stream',
        with: { url: REDIS_URL, stream: from, group: 'g', meta: false, stopAfter: { messages: 2 } },
      },
      { sink: 'redis-stream', with: { url: REDIS_URL, stream: to } },
    ]);
    expect(report.status).toBe('success');
    expect((await entries(to)).map((e) => JSON.parse(e.fields.data!))).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await pendingCount(from, 'g')).toBe(0);
  });
});
