import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import {
  defineSink,
  ErrorCode,
  Registry,
  type Row,
  type RunEvent,
  runPipeline,
  toSluiceError,
} from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { openSink, readSource } from '../../test/harness.ts';
import {
  consumerState,
  freshStream,
  NATS_URL,
  publish,
  serverWithLogin,
  streamMessages,
} from '../../test/nats.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL } from '../../test/pg-schema.ts';
import { builtinConnectors, createRegistry } from '../registry.ts';
import { sendId } from '../shared/send-ids.ts';
import { natsSink } from './sink.ts';
import { natsSource } from './source.ts';

// Against the NATS server with JetStream on this machine (127.0.0.1:4222): every test has a stream
// (and so consumers) of its own.
const READER = fileURLToPath(new URL('../../test/nats-reader.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-nats-'));
let runs = 0;

async function run(flow: object[], extra: object = {}, opts: { registry?: Registry; resume?: boolean } = {}) {
  const events: RunEvent[] = [];
  const name = (extra as { name?: string }).name ?? `nats-${++runs}`;
  const report = await runPipeline(
    { name, flow, ...extra },
    {
      registry: opts.registry ?? createRegistry(),
      stateDir: join(dir, `state-${name}`),
      baseDir: dir,
      onEvent: (e) => events.push(e),
      ...(opts.resume ? { resume: true } : {}),
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

describe('nats source in a flow', () => {
  it('reads every message, acknowledges each once its row is committed, and a full window asks for a checkpoint', async () => {
    const { stream, prefix } = await freshStream();
    await publish(`${prefix}.orders`, numbered(300));
    const { report, logs } = await run(
      [
        {
          source: 'nats',
          with: {
            url: NATS_URL,
            stream,
            consumer: 'etl',
            maxAckPending: 50,
            batchSize: 20,
            stopAfter: { messages: 300 },
          },
        },
        { sink: 'ndjson', with: { path: 'window.ndjson' } },
      ],
      // Neither rows nor time would checkpoint before the end: only the full window does.
      { checkpointInterval: '1h' },
    );
    expect(report.status).toBe('success');
    const rows = ndjson('window.ndjson');
    expect(rows.map((r) => r.id)).toEqual(numbered(300).map((r) => r.id));
    expect(rows[0]!._meta).toMatchObject({
      id: 'm-1',
      subject: `${prefix}.orders`,
      redelivered: false,
      headers: { 'Nats-Msg-Id': 'm-1', 'X-Test': 'yes' },
      stream,
      sequence: 1,
      deliveryCount: 1,
    });
    expect(Date.parse((rows[0]!._meta as { timestamp: string }).timestamp)).toBeGreaterThan(
      Date.now() - 60_000,
    );
    expect(logs.filter((l) => /^checkpoint \d+ committed/.test(l)).length).toBeGreaterThanOrEqual(300 / 50);
    // Every message acknowledged: none waiting, none delivered and unacknowledged.
    expect(await consumerState(stream, 'etl')).toMatchObject({ waiting: 0, unacknowledged: 0 });
  });

  it('quarantines a body that is not a JSON object with its message id, and acknowledges it too', async () => {
    const { stream, prefix } = await freshStream();
    await publish(`${prefix}.x`, [{ id: 1 }, 'not json', '[1,2]', { id: 4 }]);
    const { report } = await run([
      {
        source: 'nats',
        with: { url: NATS_URL, stream, consumer: 'etl', meta: false, stopAfter: { idleSeconds: 0.5 } },
      },
      { sink: 'ndjson', with: { path: 'bad.ndjson' } },
    ]);
    expect(report.status).toBe('success');
    expect(ndjson('bad.ndjson')).toEqual([{ id: 1 }, { id: 4 }]);
    const quarantined = readFileSync(report.quarantine.path!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(quarantined.map((q) => q.reason)).toEqual([
      expect.stringMatching(/^message m-2 \(subject ".*\.x", stream sequence 2\): the body is not JSON/),
      expect.stringMatching(/^message m-3 .*: the body is JSON but not an object \(an array\)/),
    ]);
    expect(quarantined[0].raw).toBe('not json');
    expect(await consumerState(stream, 'etl')).toMatchObject({ waiting: 0, unacknowledged: 0 });
  });

  it('reads text bodies, only the filtered subjects, with the stream sequence as id when no Nats-Msg-Id came', async () => {
    const { stream, prefix } = await freshStream();
    await publish(`${prefix}.eu`, ['plain line'], false);
    await publish(`${prefix}.us`, ['elsewhere'], false);
    await publish(`${prefix}.eu`, ['ção'], false);
    const r = await readSource(natsSource, {
      url: NATS_URL,
      stream,
      consumer: 'eu',
      filterSubject: `${prefix}.eu`,
      format: 'text',
      stopAfter: { messages: 2 },
    });
    expect(r.rows.map((x) => x.body)).toEqual(['plain line', 'ção']);
    expect(r.rows.map((x) => (x._meta as { id: unknown }).id)).toEqual([1, 3]);
    expect(await consumerState(stream, 'eu')).toMatchObject({ waiting: 0, unacknowledged: 0 });
    // The same durable consumer with another filter is refused, not silently used.
    const err = await readSource(natsSource, {
      url: NATS_URL,
      stream,
      consumer: 'eu',
      filterSubject: `${prefix}.us`,
    }).catch((e: unknown) => e);
    expect(toSluiceError(err).code).toBe(ErrorCode.CONFIG);
    expect((err as Error).message).toMatch(/durable consumer "eu" .* filters .*\.eu, not .*\.us/);
  });

  it('starts a new consumer where deliverPolicy says: new skips what the stream holds', async () => {
    const { stream, prefix } = await freshStream();
    await publish(`${prefix}.a`, [{ id: 1 }, { id: 2 }]);
    const first = await readSource(natsSource, {
      url: NATS_URL,
      stream,
      consumer: 'fresh',
      deliverPolicy: 'new',
      stopAfter: { idleSeconds: 0.3 },
    });
    expect(first.rows).toEqual([]);
    await publish(`${prefix}.a`, [{ id: 3 }], false);
    const second = await readSource(natsSource, {
      url: NATS_URL,
      stream,
      consumer: 'fresh',
      meta: false,
      stopAfter: { messages: 1, duration: '20s' },
    });
    expect(second.rows).toEqual([{ id: 3 }]);
  });

  it('gets again, marked redelivered, the messages a run read but never acknowledged (a crash)', async () => {
    const { stream, prefix } = await freshStream();
    await publish(`${prefix}.a`, numbered(10));
    const config = { url: NATS_URL, stream, consumer: 'etl', ackWait: '1s', batchSize: 4 };
    // A run that reads one batch and is killed: no checkpoint, no acknowledgement, no goodbye.
    const child = spawn(process.execPath, ['--import', 'tsx', READER, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    expect(JSON.parse(line.toString())).toEqual([1, 2, 3, 4]);
    child.kill('SIGKILL');
    await once(child, 'close');
    // The next run gets every message: the first four again once ackWait has passed.
    const r = await readSource(natsSource, { ...config, stopAfter: { messages: 10 } });
    expect(r.rows.map((x) => x.id).sort((a, b) => Number(a) - Number(b))).toEqual(
      numbered(10).map((x) => x.id),
    );
    // The dead run had pulled all ten (its window had room), so all ten come again, marked so.
    expect(r.rows.map((x) => (x._meta as { redelivered: boolean }).redelivered)).toEqual(
      Array(10).fill(true),
    );
    expect(r.rows.map((x) => (x._meta as { deliveryCount: number }).deliveryCount)).toEqual(
      Array(10).fill(2),
    );
    expect(await consumerState(stream, 'etl')).toMatchObject({ waiting: 0, unacknowledged: 0 });
  });

  it('drains on cancel: what it read is written and acknowledged, the next run reads the rest once', async () => {
    const { stream, prefix } = await freshStream();
    await publish(`${prefix}.a`, numbered(3000));
    const ac = new AbortController();
    const report = await runPipeline(
      {
        name: 'nats-cancel',
        checkpointEvery: 200,
        flow: [
          {
            source: 'nats',
            with: { url: NATS_URL, stream, consumer: 'etl', maxAckPending: 100, batchSize: 50 },
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
          // Cancelled once a second checkpoint is committed: mid-stream, with rows in flight.
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
    // Everything written was acknowledged: what is left is the rest, waiting or given back (it
    // counts as unacknowledged until it is delivered again).
    const left = await consumerState(stream, 'etl');
    expect(left.waiting + left.unacknowledged).toBe(3000 - written.length);
    // Given back with a delay of a second (see the source's close): a bound of 2 s idle waits for it.
    const rest = await run([
      { source: 'nats', with: { url: NATS_URL, stream, consumer: 'etl', stopAfter: { idleSeconds: 2 } } },
      { sink: 'ndjson', with: { path: 'cancel-rest.ndjson' } },
    ]);
    expect(rest.report.status).toBe('success');
    const all = [...written, ...ndjson('cancel-rest.ndjson')].map((r) => Number(r.id)).sort((a, b) => a - b);
    expect(all).toEqual(numbered(3000).map((r) => r.id));
  });

  it('refuses a missing stream with NOT_FOUND, and a refused login without the password', async () => {
    const err = await readSource(natsSource, {
      url: NATS_URL,
      stream: `sluice-test-missing-${Date.now()}`,
      consumer: 'c',
    }).catch((e: unknown) => e);
    expect(toSluiceError(err).code).toBe(ErrorCode.NOT_FOUND);
    expect((err as Error).message).toMatch(
      /stream "sluice-test-missing-\d+" does not exist on NATS at 127\.0\.0\.1:4222/,
    );

    const secured = await serverWithLogin('right-pass-7');
    try {
      const u = new URL(secured.url);
      u.username = 'etl';
      u.password = 'wrong-pass-9';
      const refused = await readSource(natsSource, { url: u.toString(), stream: 's', consumer: 'c' }).catch(
        (e: unknown) => e,
      );
      expect(toSluiceError(refused).code).toBe(ErrorCode.CONNECTION);
      expect((refused as Error).message).toMatch(/refused user "etl" — check the user and password/);
      expect((refused as Error).message).not.toContain('wrong-pass-9');
      // The right password gets in, and the connection check says where.
      u.password = 'right-pass-7';
      const said = await natsSource.connection!.check(
        { url: u.toString() },
        { signal: new AbortController().signal, stepId: 'check', baseDir: dir },
      );
      expect(said).toMatch(
        /^connected to 127\.0\.0\.1:\d+ as etl \(nats-server [\d.]+, JetStream: 0 streams\)$/,
      );
    } finally {
      await secured.stop();
    }
  });
});

// A second sink that fails the way a crash between a commit and its acknowledgement would: its
// (transactional) commit of checkpoint `failAt` is recorded, then it throws, so the checkpoint is
// in PostgreSQL and the messages it covers are never acknowledged.
const flaky = { failAt: 0, committed: 0 };
const flakySink = defineSink({
  name: 'flaky',
  version: '1.0.0',
  summary: 'test: fails one commit after recording it',
  config: Type.Object({}),
  transactional: true,
  async open() {
    let rows = 0;
    return {
      recover: async () => (flaky.committed > 0 ? flaky.committed : undefined),
      start: async () => undefined,
      write: async (r: Row[]) => {
        rows += r.length;
      },
      commit: async ({ seq }) => {
        flaky.committed = seq;
        if (seq === flaky.failAt) throw new Error('the connection dropped after the commit');
        return undefined;
      },
      close: async () => ({ rowsWritten: rows }),
      abort: async () => undefined,
    };
  },
});

describe('nats → postgres upsert, failing mid-stream then resumed', () => {
  const db = freshSchemaPerTest();

  it('holds every message once, and leaves nothing pending', async () => {
    const N = 1000;
    const { stream, prefix } = await freshStream('chaos');
    await publish(`${prefix}.orders`, numbered(N));
    await db.admin.query(`CREATE TABLE ${db.schema}.orders (id bigint PRIMARY KEY, name text)`);
    const registry = new Registry().register(...builtinConnectors, flakySink);
    const spec = {
      name: 'nats-upsert',
      retry: { attempts: 1 },
      checkpointInterval: '1h',
      flow: [
        {
          source: 'nats',
          with: {
            url: NATS_URL,
            stream,
            consumer: 'etl',
            maxAckPending: 100,
            batchSize: 25,
            meta: false,
            stopAfter: { idleSeconds: 1 },
          },
        },
        {
          sink: 'postgres',
          with: { url: TEST_DATABASE_URL, dbSchema: db.schema, table: 'orders', mode: 'upsert', key: ['id'] },
        },
        { sink: 'flaky' },
      ],
    };
    Object.assign(flaky, { failAt: 3, committed: 0 });
    const failed = await run(spec.flow, spec, { registry });
    expect(failed.report.status).toBe('failed');
    const { rows: partial } = await db.admin.query(`SELECT count(*)::int AS n FROM ${db.schema}.orders`);
    // Three windows of 100 are in the table; only two were acknowledged.
    expect(partial[0].n).toBe(300);
    flaky.failAt = 0;
    const resumed = await run(spec.flow, spec, { registry, resume: true });
    expect(resumed.report.status).toBe('success');
    const { rows } = await db.admin.query<{ id: string; name: string }>(
      `SELECT id, name FROM ${db.schema}.orders ORDER BY id`,
    );
    expect(rows.length).toBe(N);
    expect(rows.filter((r, i) => Number(r.id) !== i + 1 || r.name !== `n${i + 1}`)).toEqual([]);
    expect(await consumerState(stream, 'etl')).toMatchObject({ waiting: 0, unacknowledged: 0 });
    // The window committed and never acknowledged came again: 300 rows before the resumed
    // checkpoint, then those 100 once more and the 700 after them. At least once; once in the table.
    expect(resumed.report.steps[0]!.rowsRead).toBe(1100);
  });
});

describe('nats sink', () => {
  it('a resumed run publishes the same rows under the same ids: the stream keeps each once', async () => {
    const { stream, prefix } = await freshStream();
    const rows = numbered(3);
    const config = { url: NATS_URL, subject: `${prefix}.out`, batchSize: 2 };
    const a = await openSink(natsSink, config);
    await a.writer.start(undefined);
    await a.writer.write(rows.slice(0, 1));
    const state = (await a.writer.commit({ seq: 1, position: 1 })) as { nonce: string; sent: number };
    await a.writer.write(rows.slice(1)); // a full batch: published, then the crash
    await a.writer.abort(new Error('crash'));
    const b = await openSink(natsSink, config);
    await b.writer.start(state);
    await b.writer.write(rows.slice(1));
    // The stream acknowledged both again (as duplicates): delivered, counted, stored once.
    expect((await b.writer.close()).rowsWritten).toBe(2);
    expect(b.harness.logs).toContainEqual(expect.stringMatching(/2 message\(s\) were already in the stream/));
    const got = await streamMessages(stream);
    expect(got.map((m) => JSON.parse(m.body).id)).toEqual([1, 2, 3]);
    expect(got.map((m) => m.id)).toEqual([0, 1, 2].map((n) => sendId(state.nonce, n)));
  });

  it('routes by a subject field and de-duplicates by messageIdField, quarantining a row without a subject', async () => {
    const { stream, prefix } = await freshStream();
    const { writer, harness } = await openSink(natsSink, {
      url: NATS_URL,
      subjectField: 'to',
      messageIdField: 'key',
    });
    await writer.start(undefined);
    await writer.write([
      { key: 'a', to: `${prefix}.eu` },
      { key: 'b', to: `${prefix}.us` },
      { key: 'a', to: `${prefix}.eu` },
      { key: 'c' },
    ]);
    expect((await writer.close()).rowsWritten).toBe(3);
    expect(harness.quarantined.map((q) => q.reason)).toEqual(['the subject field "to" is missing']);
    const got = await streamMessages(stream);
    expect(got.map((m) => [m.subject, m.id])).toEqual([
      [`${prefix}.eu`, 'a'],
      [`${prefix}.us`, 'b'],
    ]);
  });

  it('refuses a subject no stream listens on with NOT_FOUND: at open, or at the publish for a field', async () => {
    const nowhere = `sluice-test.nowhere.${Date.now()}`;
    const err = await openSink(natsSink, { url: NATS_URL, subject: nowhere }).catch((e: unknown) => e);
    expect(toSluiceError(err).code).toBe(ErrorCode.NOT_FOUND);
    expect((err as Error).message).toMatch(
      /no JetStream stream on NATS at 127\.0\.0\.1:4222 listens on subject "sluice-test\.nowhere\.\d+"/,
    );
    const { writer } = await openSink(natsSink, { url: NATS_URL, subjectField: 'to' });
    await writer.start(undefined);
    await writer.write([{ to: nowhere }]);
    const late = await writer.commit({ seq: 1, position: 1 }).catch((e: unknown) => e);
    expect(toSluiceError(late).code).toBe(ErrorCode.NOT_FOUND);
    expect((late as Error).message).toMatch(/listens on subject "sluice-test\.nowhere/);
    await writer.abort(late);
  });

  it('moves a stream to another through a flow', async () => {
    const from = await freshStream('from');
    const to = await freshStream('to');
    await publish(`${from.prefix}.a`, [{ id: 1 }, { id: 2 }]);
    const { report } = await run([
      {
        source: 'nats',
        with: {
          url: NATS_URL,
          stream: from.stream,
          consumer: 'mover',
          meta: false,
          stopAfter: { messages: 2 },
        },
      },
      { sink: 'nats', with: { url: NATS_URL, subject: `${to.prefix}.b` } },
    ]);
    expect(report.status).toBe('success');
    expect((await streamMessages(to.stream)).map((m) => JSON.parse(m.body))).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await consumerState(from.stream, 'mover')).toMatchObject({ waiting: 0, unacknowledged: 0 });
  });
});
