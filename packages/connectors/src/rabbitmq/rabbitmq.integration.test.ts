import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type Row, type RunEvent, runPipeline, toSluiceError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { AMQP_URL, drain, freshExchange, freshQueue, publish, queueDepth } from '../../test/amqp.ts';
import { openSink, readSource } from '../../test/harness.ts';
import { createRegistry } from '../registry.ts';
import { sendId } from '../shared/send-ids.ts';
import { rabbitmqSink } from './sink.ts';
import { rabbitmqSource } from './source.ts';

// Against the RabbitMQ server on this machine (127.0.0.1:5672): every test has queues of its own.
const dir = mkdtempSync(join(tmpdir(), 'sluice-rabbitmq-'));
let runs = 0;

async function run(flow: object[], extra: object = {}, signal?: AbortSignal) {
  const events: RunEvent[] = [];
  const report = await runPipeline(
    { name: `rabbitmq-${++runs}`, flow, ...extra },
    {
      registry: createRegistry(),
      stateDir: join(dir, `state${runs}`),
      baseDir: dir,
      onEvent: (e) => events.push(e),
      ...(signal ? { signal } : {}),
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

describe('rabbitmq source in a flow', () => {
  it('reads every message, acknowledges each once its row is committed, and a full window asks for a checkpoint', async () => {
    const queue = await freshQueue();
    await publish(
      queue,
      Array.from({ length: 300 }, (_, i) => ({ id: i + 1, name: `n${i + 1}` })),
    );
    const { report, logs } = await run(
      [
        {
          source: 'rabbitmq',
          with: { url: AMQP_URL, queue, prefetch: 50, batchSize: 20, stopAfter: { messages: 300 } },
        },
        { sink: 'ndjson', with: { path: 'window.ndjson' } },
      ],
      // Neither rows nor time would checkpoint before the end: only the full window does.
      { checkpointInterval: '1h' },
    );
    expect(report.status).toBe('success');
    const rows = ndjson('window.ndjson');
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(rows[0]!._meta).toMatchObject({ id: 'm-1', subject: queue, exchange: '', redelivered: false });
    expect(logs.filter((l) => /^checkpoint \d+ committed/.test(l)).length).toBeGreaterThanOrEqual(300 / 50);
    // Nothing waits in the queue and nothing was left unacknowledged (given back when the run closed).
    expect(await queueDepth(queue)).toBe(0);
  });

  it('quarantines a body that is not a JSON object with its message id, and acknowledges it too', async () => {
    const queue = await freshQueue();
    await publish(queue, [{ id: 1 }, 'not json', '[1,2]', { id: 4 }]);
    const { report } = await run([
      { source: 'rabbitmq', with: { url: AMQP_URL, queue, meta: false, stopAfter: { idleSeconds: 0.5 } } },
      { sink: 'ndjson', with: { path: 'bad.ndjson' } },
    ]);
    expect(report.status).toBe('success');
    expect(ndjson('bad.ndjson')).toEqual([{ id: 1 }, { id: 4 }]);
    const quarantined = readFileSync(report.quarantine.path!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(quarantined.map((q) => q.reason)).toEqual([
      expect.stringMatching(/^message m-2 \(routing key ".*"\): the body is not JSON/),
      expect.stringMatching(/^message m-3 .*: the body is JSON but not an object \(an array\)/),
    ]);
    expect(quarantined[0].raw).toBe('not json');
    expect(await queueDepth(queue)).toBe(0);
  });

  it('reads text bodies into `body`', async () => {
    const queue = await freshQueue();
    await publish(queue, ['plain line', 'ção']);
    const r = await readSource(rabbitmqSource, {
      url: AMQP_URL,
      queue,
      format: 'text',
      meta: false,
      stopAfter: { messages: 2 },
    });
    expect(r.rows).toEqual([{ body: 'plain line' }, { body: 'ção' }]);
  });

  it('drains on cancel: what it read is written and acknowledged, the rest stays queued, the step is cancelled', async () => {
    const queue = await freshQueue();
    await publish(
      queue,
      Array.from({ length: 3000 }, (_, i) => ({ id: i + 1 })),
    );
    const ac = new AbortController();
    // Cancelled once a first checkpoint is committed: mid-stream, with rows in flight.
    const events: RunEvent[] = [];
    const report = await runPipeline(
      {
        name: 'rabbitmq-cancel',
        checkpointEvery: 200,
        flow: [
          { source: 'rabbitmq', with: { url: AMQP_URL, queue, prefetch: 100, batchSize: 50 } },
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
          events.push(e);
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
    // Everything written was acknowledged; everything else is back in the queue.
    expect(await queueDepth(queue)).toBe(3000 - written.length);
  });

  it('refuses a missing queue with NOT_FOUND, and declare: true creates it', async () => {
    const queue = `sluice-test-missing-${Date.now()}`;
    const err = await readSource(rabbitmqSource, { url: AMQP_URL, queue, stopAfter: { messages: 1 } }).catch(
      (e: unknown) => e,
    );
    expect(toSluiceError(err).code).toBe(ErrorCode.NOT_FOUND);
    expect((err as Error).message).toMatch(
      /"sluice-test-missing-\d+" does not exist in vhost "\/".*declare: true/,
    );
    const made = await readSource(rabbitmqSource, {
      url: AMQP_URL,
      queue,
      declare: true,
      stopAfter: { idleSeconds: 0.2 },
    });
    expect(made.rows).toEqual([]);
    expect(await queueDepth(queue)).toBe(0);
  });

  it('names a refused login without the password', async () => {
    const err = await readSource(rabbitmqSource, {
      url: 'amqp://guest:wrong-pass-9@127.0.0.1:5672',
      queue: 'q',
    }).catch((e: unknown) => e);
    expect(toSluiceError(err).code).toBe(ErrorCode.CONNECTION);
    expect((err as Error).message).toMatch(/refused user "guest" — check the user and password/);
    expect((err as Error).message).not.toContain('wrong-pass-9');
  });
});

describe('rabbitmq sink', () => {
  it('routes each row by a field, persistent and confirmed, with ids a resumed run repeats', async () => {
    const { exchange, queue } = await freshExchange('eu');
    const rows = [
      { id: 1, region: 'eu' },
      { id: 2, region: 'eu' },
      { id: 3, region: 'eu' },
    ];
    const a = await openSink(rabbitmqSink, {
      url: AMQP_URL,
      exchange,
      routingKeyField: 'region',
      batchSize: 2,
    });
    await a.writer.start(undefined);
    await a.writer.write(rows.slice(0, 1));
    const state = (await a.writer.commit({ seq: 1, position: 1 })) as { nonce: string; sent: number };
    await a.writer.write(rows.slice(1)); // a full batch: published, then the crash
    await a.writer.abort(new Error('crash'));
    const b = await openSink(rabbitmqSink, {
      url: AMQP_URL,
      exchange,
      routingKeyField: 'region',
      batchSize: 2,
    });
    await b.writer.start(state);
    await b.writer.write(rows.slice(1));
    expect((await b.writer.close()).rowsWritten).toBe(2);
    const got = await drain(queue);
    // At least once: rows 2 and 3 went twice, each time under the same id.
    expect(got.map((m) => JSON.parse(m.content.toString()).id)).toEqual([1, 2, 3, 2, 3]);
    expect(got.map((m) => m.properties.messageId)).toEqual(
      [0, 1, 2, 1, 2].map((n) => sendId(state.nonce, n)),
    );
    expect(got.every((m) => m.properties.deliveryMode === 2)).toBe(true);
  });

  it('fails on a message no queue would receive, and quarantines a row with no routing key', async () => {
    const { exchange } = await freshExchange('bound');
    const { writer, harness } = await openSink(rabbitmqSink, {
      url: AMQP_URL,
      exchange,
      routingKeyField: 'k',
    });
    await writer.start(undefined);
    await writer.write([{ id: 1 }]);
    await writer.flush!();
    expect(harness.quarantined.map((q) => q.reason)).toEqual(['the routing key field "k" is missing']);
    await writer.write([{ id: 2, k: 'nowhere' }]);
    const err = await writer.commit({ seq: 1, position: 1 }).catch((e: unknown) => e);
    expect(toSluiceError(err).code).toBe(ErrorCode.CONFIG);
    expect((err as Error).message).toMatch(
      /1 message\(s\) could not be routed: exchange ".*" has no queue bound for routing key "nowhere"/,
    );
    await writer.abort(err);
  });

  it('moves a queue to another through a flow', async () => {
    const from = await freshQueue('from');
    const { exchange, queue } = await freshExchange('to');
    await publish(from, [{ id: 1 }, { id: 2 }]);
    const { report } = await run([
      { source: 'rabbitmq', with: { url: AMQP_URL, queue: from, meta: false, stopAfter: { messages: 2 } } },
      { sink: 'rabbitmq', with: { url: AMQP_URL, exchange, routingKey: 'to' } },
    ]);
    expect(report.status).toBe('success');
    expect((await drain(queue)).map((m) => JSON.parse(m.content.toString()))).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await queueDepth(from)).toBe(0);
  });
});
