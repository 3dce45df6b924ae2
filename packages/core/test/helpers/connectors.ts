import { readFileSync, writeFileSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import {
  defineSink,
  defineSource,
  defineTask,
  defineTransform,
  FatalError,
  Registry,
  RetryableError,
  type Row,
  type RunEvent,
  runPipeline,
  SOURCE_LINE,
} from '../../src/index.ts';

/**
 * Small real connectors for exercising the runner: a counting source that can fail part-way, a
 * sink that keeps its rows and checkpoint in one JSON file (transactional, like PostgreSQL) and
 * a task that waits. They implement the SDK for real; nothing is stubbed.
 */
export const countSource = defineSource({
  name: 'count',
  version: '1.0.0',
  summary: 'Emits rows {n} from 1 to `rows`, in batches; can fail after a number of rows.',
  config: Type.Object({
    rows: Type.Integer({ minimum: 0 }),
    batch: Type.Integer({ minimum: 1, default: 10 }),
    failAfter: Type.Optional(Type.Integer({ description: 'throw once this many rows were emitted' })),
    failWith: Type.Optional(Type.Union([Type.Literal('fatal'), Type.Literal('retryable')])),
    badEvery: Type.Optional(Type.Integer({ description: 'quarantine every n-th row' })),
  }),
  async *read(ctx) {
    const c = ctx.config;
    let n = (ctx.resumeFrom as { n: number } | undefined)?.n ?? 0;
    ctx.setOrigin('memory://count');
    while (n < c.rows) {
      const rows: Row[] = [];
      const end = Math.min(c.rows, n + c.batch);
      for (let i = n + 1; i <= end; i++) {
        if (c.failAfter !== undefined && i > c.failAfter) {
          if (c.failWith === 'retryable') throw new RetryableError(`transient failure at row ${i}`);
          if (c.failWith === 'fatal') throw new FatalError(`unfixable at row ${i}`);
          throw new Error(`crash at row ${i}`);
        }
        if (c.badEvery && i % c.badEvery === 0)
          ctx.quarantine({ reason: `row ${i} is bad`, line: i, raw: String(i) });
        else rows.push({ n: i, even: i % 2 === 0, [SOURCE_LINE]: i });
      }
      n = end;
      yield { rows, position: { n }, progress: { done: n, total: c.rows } };
    }
  },
});

export const keepEven = defineTransform({
  name: 'keep-even',
  version: '1.0.0',
  summary: 'Keeps even rows; quarantines multiples of `rejectEvery`.',
  config: Type.Object({ rejectEvery: Type.Optional(Type.Integer()) }),
  create(ctx) {
    return (rows) =>
      rows.filter((r) => {
        const n = r.n as number;
        if (ctx.config.rejectEvery && n % ctx.config.rejectEvery === 0) {
          ctx.quarantine({ reason: 'rejected', row: r });
          return false;
        }
        return n % 2 === 0;
      });
  },
});

interface JsonTable {
  seq: number | null;
  rows: Row[];
  key?: string;
}
const readTable = (path: string): JsonTable => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as JsonTable;
  } catch {
    return { seq: null, rows: [] };
  }
};

export const jsonTableSink = defineSink({
  name: 'json-table',
  version: '1.0.0',
  summary: 'Keeps rows and its checkpoint seq in one JSON file, written atomically per commit.',
  transactional: true,
  config: Type.Object({
    path: Type.String(),
    failOnWrite: Type.Optional(Type.Integer()),
    failOnClose: Type.Optional(Type.Boolean()),
    failOnCommit: Type.Optional(Type.Integer({ description: 'the commit of this seq fails' })),
    underReport: Type.Optional(Type.Integer({ description: 'acknowledge this many rows fewer' })),
    verify: Type.Optional(Type.Union([Type.Literal('count'), Type.Literal('content')])),
  }),
  async open(ctx) {
    let committed = readTable(ctx.config.path);
    let pending: Row[] = [];
    let acked = 0;
    let writes = 0;
    const save = (seq: number | null) => {
      committed = { seq, rows: [...committed.rows, ...pending], key: ctx.checkpointKey };
      acked += pending.length;
      pending = [];
      writeFileSync(ctx.config.path, JSON.stringify(committed));
    };
    return {
      recover: async () => committed.seq ?? undefined,
      start: async (resume) => {
        if (resume !== undefined) return;
        committed = { seq: null, rows: [] };
        writeFileSync(ctx.config.path, JSON.stringify(committed));
      },
      write: async (rows) => {
        writes++;
        if (ctx.config.failOnWrite === writes) throw new Error('sink write failed');
        pending.push(...rows);
      },
      commit: async ({ seq }) => {
        if (ctx.config.failOnCommit === seq) throw new Error(`commit ${seq} failed`);
        save(seq);
        return undefined;
      },
      close: async () => {
        if (ctx.config.failOnClose) throw new Error('crash while closing');
        save(committed.seq);
        return { rowsWritten: acked - (ctx.config.underReport ?? 0), location: ctx.config.path };
      },
      abort: async () => {
        pending = [];
      },
    };
  },
});

export const waitTask = defineTask({
  name: 'wait',
  version: '1.0.0',
  summary: 'Waits `ms` milliseconds, or fails when `fail` is set.',
  config: Type.Object({ ms: Type.Integer({ default: 0 }), fail: Type.Optional(Type.String()) }),
  async run(ctx) {
    ctx.log.debug(`waiting ${ctx.config.ms} ms`);
    if (ctx.config.fail) throw new Error(ctx.config.fail);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ctx.config.ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(ctx.signal.reason);
      });
    });
    return { output: `waited ${ctx.config.ms} ms` };
  },
});

export const testRegistry = () => new Registry().register(countSource, keepEven, jsonTableSink, waitTask);

/** Runs `spec` with the test connectors, state in `stateDir`, keeping every event it emits. */
export async function runWithEvents(spec: unknown, stateDir: string) {
  const events: RunEvent[] = [];
  const report = await runPipeline(spec, {
    registry: testRegistry(),
    stateDir,
    onEvent: (e) => events.push(e),
  });
  return { report, events };
}
