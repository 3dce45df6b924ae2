import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { defineSource, defineTransform, planPipeline, type Row, runPipeline } from '../src/index.ts';
import { testRegistry } from './helpers/connectors.ts';

/**
 * An in-memory queue, as a broker keeps one: messages are delivered in order and stay
 * unacknowledged until the source acknowledges them. `table` is the sink's file, read at each
 * acknowledgement to prove the rows were committed first.
 */
interface Queue {
  messages: number[];
  delivered: number;
  acked: number;
  /** At each acknowledgement: how far, and how many rows the sink had committed by then. */
  acks: { upTo: number; committed: number }[];
  table: string;
  closed: boolean;
}
const queues = new Map<string, Queue>();

function queue(name: string, count: number, table: string): Queue {
  const q: Queue = {
    messages: Array.from({ length: count }, (_, i) => i + 1),
    delivered: 0,
    acked: 0,
    acks: [],
    table,
    closed: false,
  };
  queues.set(name, q);
  return q;
}

const committedRows = (path: string): number => {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { rows: Row[] }).rows.length;
  } catch {
    return 0;
  }
};

const memoryQueue = defineSource({
  name: 'memory-queue',
  version: '1.0.0',
  summary: 'Delivers the messages of an in-memory queue, one every `everyMs`; stops after `stopAfter`.',
  streaming: true,
  config: Type.Object({
    queue: Type.String(),
    everyMs: Type.Integer({ default: 0 }),
    batch: Type.Integer({ default: 10 }),
    stopAfter: Type.Optional(Type.Integer()),
    /** At most this many unacknowledged messages, as a broker's prefetch allows. */
    window: Type.Optional(Type.Integer()),
  }),
  async *read(ctx) {
    const q = queues.get(ctx.config.queue)!;
    const stop = ctx.stop!;
    ctx.acknowledger!({
      commit: async (position) => {
        const upTo = (position as { delivered: number }).delivered;
        q.acks.push({ upTo, committed: committedRows(q.table) });
        q.acked = Math.max(q.acked, upTo);
      },
      close: async () => {
        q.closed = true;
      },
    });
    // Unacknowledged messages come again, as a broker redelivers them to a new consumer.
    q.delivered = q.acked;
    const limit = ctx.config.stopAfter ?? Number.POSITIVE_INFINITY;
    let read = 0;
    while (!stop.aborted && read < limit) {
      const rows: Row[] = [];
      const started = Date.now();
      const window = ctx.config.window ?? Number.POSITIVE_INFINITY;
      while (rows.length < ctx.config.batch && read < limit && !stop.aborted && Date.now() - started < 20) {
        if (q.delivered >= q.messages.length || q.delivered - q.acked >= window) {
          await sleep(5);
          continue;
        }
        if (ctx.config.everyMs > 0) await sleep(ctx.config.everyMs);
        rows.push({ id: q.messages[q.delivered++] });
        read++;
      }
      yield { rows, position: { delivered: q.delivered }, checkpoint: q.delivered - q.acked >= window };
    }
  },
});

const holdAll = defineTransform({
  name: 'hold-all',
  version: '1.0.0',
  summary: 'Holds every row until its input ends.',
  holdsInput: true,
  config: Type.Object({}),
  create() {
    const held: Row[] = [];
    return {
      push: (rows) => {
        held.push(...rows);
        return [];
      },
      async *finish() {
        yield held;
      },
    };
  },
});

const registry = () => testRegistry().register(memoryQueue, holdAll);
const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-stream-'));

function streamSpec(name: string, table: string, source: Record<string, unknown>, extra = {}) {
  return {
    name,
    flow: [
      { source: 'memory-queue', with: { queue: name, ...source } },
      { sink: 'json-table', with: { path: table } },
    ],
    ...extra,
  };
}

describe('streaming flows', () => {
  it('acknowledges each checkpoint after the sink committed it, up to exactly what it covers', async () => {
    const dir = tmp();
    const table = join(dir, 'out.json');
    const q = queue('acks', 35, table);
    const report = await runPipeline(streamSpec('acks', table, { stopAfter: 35 }, { checkpointEvery: 10 }), {
      registry: registry(),
      stateDir: dir,
    });
    expect(report.status).toBe('success');
    expect(committedRows(table)).toBe(35);
    expect(q.acked).toBe(35);
    // Never ahead of the sink: every acknowledgement came after its rows were committed.
    for (const a of q.acks) expect(a.committed).toBeGreaterThanOrEqual(a.upTo);
    expect(q.acks.map((a) => a.upTo)).toEqual([10, 20, 30, 35]);
    expect(q.closed).toBe(true);
  });

  it('checkpoints when the source asks (its prefetch window is full), before checkpointEvery', async () => {
    const dir = tmp();
    const table = join(dir, 'out.json');
    const q = queue('window', 40, table);
    const report = await runPipeline(
      streamSpec('window', table, { stopAfter: 40, window: 15, batch: 5 }, { checkpointInterval: '1h' }),
      { registry: registry(), stateDir: dir },
    );
    expect(report.status).toBe('success');
    expect(q.acks.map((a) => a.upTo)).toEqual([15, 30, 40]);
    for (const a of q.acks) expect(a.committed).toBeGreaterThanOrEqual(a.upTo);
  });

  it('checkpoints every checkpointInterval while few rows trickle in', async () => {
    const dir = tmp();
    const table = join(dir, 'out.json');
    const q = queue('slow', 12, table);
    const report = await runPipeline(
      streamSpec('slow', table, { stopAfter: 12, everyMs: 25, batch: 1 }, { checkpointInterval: '100ms' }),
      { registry: registry(), stateDir: dir },
    );
    expect(report.status).toBe('success');
    // 12 rows at one per 25 ms is ~300 ms: checkpoints at ~100 ms intervals, not only the final one.
    expect(q.acks.length).toBeGreaterThanOrEqual(3);
    for (const a of q.acks) expect(a.committed).toBeGreaterThanOrEqual(a.upTo);
    expect(q.acked).toBe(12);
  });

  it('drains on cancel: what was read is written and acknowledged, then the step ends cancelled', async () => {
    const dir = tmp();
    const table = join(dir, 'out.json');
    const q = queue('cancel', 1000, table);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled by the test')), 150);
    const report = await runPipeline(streamSpec('cancel', table, { everyMs: 2, batch: 5 }), {
      registry: registry(),
      stateDir: dir,
      signal: ac.signal,
    });
    expect(report.status).toBe('cancelled');
    const written = committedRows(table);
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(1000);
    // Everything read went to the sink and was acknowledged: nothing is left in flight.
    expect(q.acked).toBe(q.delivered);
    expect(q.acked).toBe(written);
    expect(report.steps[0]!.components?.[0]?.rowsOut).toBe(written);
  });

  it('after a crash, redelivered messages are read again from the last acknowledgement', async () => {
    const dir = tmp();
    const table = join(dir, 'out.json');
    const q = queue('crash', 30, table);
    // The sink's third commit fails: two checkpoints (20 rows) are committed and acknowledged.
    const spec = (failOnCommit?: number) => ({
      name: 'crash',
      checkpointEvery: 10,
      retry: { attempts: 1 },
      flow: [
        { source: 'memory-queue', with: { queue: 'crash', stopAfter: 30 } },
        { sink: 'json-table', with: { path: table, ...(failOnCommit ? { failOnCommit } : {}) } },
      ],
    });
    const failed = await runPipeline(spec(3), { registry: registry(), stateDir: dir });
    expect(failed.status).toBe('failed');
    expect(q.acked).toBe(20);
    const resumed = await runPipeline(
      { ...spec(), flow: [{ ...spec().flow[0]!, with: { queue: 'crash', stopAfter: 10 } }, spec().flow[1]!] },
      { registry: registry(), stateDir: dir, resume: true },
    );
    expect(resumed.status).toBe('success');
    const ids = (JSON.parse(readFileSync(table, 'utf8')) as { rows: { id: number }[] }).rows.map((r) => r.id);
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(q.acked).toBe(30);
  });

  it('refuses a transform that holds its input after a streaming source', () => {
    expect(() =>
      planPipeline(
        {
          name: 'hold',
          flow: [
            { source: 'memory-queue', with: { queue: 'x' } },
            { transform: 'hold-all' },
            { sink: 'json-table', with: { path: '/tmp/x.json' } },
          ],
        },
        { registry: registry() },
      ),
    ).toThrow(/flow\[1\]\.transform: step "main": hold-all holds every row until its input ends/);
  });

  it('accepts autostart on a pipeline that reads a queue, and refuses it on one that does not', () => {
    const plan = planPipeline(
      {
        name: 'auto',
        autostart: true,
        flow: [
          { source: 'memory-queue', with: { queue: 'x' } },
          { sink: 'json-table', with: { path: '/tmp/x.json' } },
        ],
      },
      { registry: registry() },
    );
    expect(plan.spec?.autostart).toBe(true);
    expect(() =>
      planPipeline(
        {
          name: 'auto',
          autostart: true,
          flow: [
            { source: 'count', with: { rows: 1 } },
            { sink: 'json-table', with: { path: '/tmp/x.json' } },
          ],
        },
        { registry: registry() },
      ),
    ).toThrow(/autostart: only a pipeline that reads a queue/);
  });
});
