import {
  ErrorCode,
  type Row,
  type SinkDefinition,
  type SourceDefinition,
  type TaskDefinition,
  type TransformDefinition,
  toSluiceError,
} from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { expectNoSecret, expectRejectedAt, type SecretCase } from './conformance-checks.ts';
import { createTransform, openSink, readSource, runTask, sinkContext, sourceContext } from './harness.ts';

/**
 * The suite every connector passes (STYLE rule 4). A case supplies a config that reads known
 * rows from a fresh input; the suite checks the contract the runner relies on.
 */
export interface SourceCase {
  def: SourceDefinition;
  /** Prepares an input holding `rows` and returns the config that reads it. */
  setup(rows: Row[]): Promise<Record<string, unknown>>;
  /** A config the schema must reject, and the JSON path of its one bad key (`with.delimiter`). */
  badConfig: Record<string, unknown>;
  badPath: string;
  /** Rows the source yields for `sample`, as the source types them. */
  sample: Row[];
  /** Whether the source can resume from a position. */
  resumable: boolean;
  /**
   * A config carrying a secret that fails to connect (wrong host, refused login); absent only for a
   * connector with no secret field, which the case must then say (`secret: 'none'`).
   */
  secret: SecretCase | 'none';
}

// Entries only: the SOURCE_LINE symbol a source may set is not part of the data.
const plain = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r)));

export function sourceConformance(name: string, c: SourceCase): void {
  describe(`${name} source conformance`, () => {
    it('rejects a bad config with the JSON path of the bad key', () => {
      expectRejectedAt(c.def, c.badConfig, c.badPath);
    });

    it('reads nothing from an empty input', async () => {
      const r = await readSource(c.def, await c.setup([]));
      expect(r.rows).toEqual([]);
      expect(r.harness.quarantined).toEqual([]);
    });

    it('reads every row, in order', async () => {
      const r = await readSource(c.def, await c.setup(c.sample));
      expect(plain(r.rows)).toEqual(c.sample);
    });

    it('resumes from a checkpoint position with exactly the remaining rows', async () => {
      if (!c.resumable) return;
      const config = await c.setup(c.sample);
      const first = await readSource(c.def, { ...config, batchSize: 2 }, { maxBatches: 1 });
      expect(first.rows).toHaveLength(2);
      const rest = await readSource(c.def, { ...config, batchSize: 2 }, { resumeFrom: first.positions[0]! });
      expect(plain([...first.rows, ...rest.rows])).toEqual(c.sample);
    });

    it('stops when cancelled: nothing is read once the signal is aborted', async () => {
      const config = await c.setup(c.sample);
      const ac = new AbortController();
      ac.abort(new Error('cancelled by test'));
      const early = await readSource(c.def, { ...config, batchSize: 1 }, { signal: ac.signal }).catch(
        (e: unknown) => e,
      );
      if (!(early instanceof Error)) expect((early as { rows: Row[] }).rows).toEqual([]);
    });

    it('stops when cancelled mid-read: the next batch is not delivered, the error says cancelled', async () => {
      const config = await c.setup(c.sample);
      const ac = new AbortController();
      const { ctx, harness } = sourceContext(c.def, { ...config, batchSize: 1 }, { signal: ac.signal });
      const rows: Row[] = [];
      const err = await (async () => {
        for await (const b of c.def.read(ctx)) {
          rows.push(...b.rows);
          ac.abort(new Error('cancelled by test'));
        }
      })().catch((e: unknown) => e);
      await harness.acknowledger?.close();
      expect(rows.length).toBeLessThan(c.sample.length);
      // A source either throws (the abort reason, or ABORTED) or ends; it never reads on silently.
      if (err !== undefined) {
        const e = toSluiceError(err);
        expect(e.code === ErrorCode.ABORTED || e.message.includes('cancelled by test'), e.message).toBe(true);
      }
    });

    if (c.secret !== 'none') {
      const secret = c.secret;
      it('keeps its secret out of the error and the log when it cannot connect', async () => {
        const { ctx, harness } = sourceContext(c.def, await secret.config());
        const err = await (async () => {
          for await (const _ of c.def.read(ctx));
        })().catch((e: unknown) => e);
        await harness.acknowledger?.close();
        expectNoSecret(err, harness.logs, secret.secret);
      });
    } else {
      it('declares it holds no secret: no writeOnly field in its config or credential schema', () => {
        expect(JSON.stringify([c.def.config, c.def.credentialSchema ?? null])).not.toContain('writeOnly');
      });
    }
  });
}

export interface SinkCase {
  def: SinkDefinition;
  /** Prepares an empty destination and returns the sink config writing to it. */
  setup(): Promise<Record<string, unknown>>;
  /** Reads the destination back, as rows comparable with what was written. */
  readBack(config: Record<string, unknown>): Promise<Row[]>;
  badConfig: Record<string, unknown>;
  badPath: string;
  sample: Row[];
  /**
   * Whether the sink resumes after a crash and appends (a quarantine replay). One that cannot
   * must refuse both clearly, never restart silently: `{ refused: /pattern of its error/ }`.
   */
  resumable: true | { refused: RegExp };
  /** See SourceCase.secret. */
  secret: SecretCase | 'none';
}

export function sinkConformance(name: string, c: SinkCase): void {
  describe(`${name} sink conformance`, () => {
    it('rejects a bad config with the JSON path of the bad key', () => {
      expectRejectedAt(c.def, c.badConfig, c.badPath);
    });

    it('writes nothing for an empty input and says so', async () => {
      const config = await c.setup();
      const { writer } = await openSink(c.def, config);
      await writer.start(undefined);
      expect((await writer.close()).rowsWritten).toBe(0);
      expect(await c.readBack(config)).toEqual([]);
    });

    it('writes every row and acknowledges them', async () => {
      const config = await c.setup();
      const { writer } = await openSink(c.def, config);
      await writer.start(undefined);
      await writer.write(c.sample.slice(0, 1));
      await writer.write(c.sample.slice(1));
      expect((await writer.close()).rowsWritten).toBe(c.sample.length);
      expect(await c.readBack(config)).toEqual(c.sample);
    });

    it('cancelled before its first checkpoint, leaves nothing visible at the destination', async () => {
      const config = await c.setup();
      const ac = new AbortController();
      const { writer } = await openSink(c.def, config, { signal: ac.signal });
      await writer.start(undefined);
      await writer.write(c.sample.slice(0, 2));
      ac.abort(new Error('cancelled by test'));
      await writer.abort(ac.signal.reason);
      expect(await readBackOrNone(c, config)).toEqual([]);
    });

    if (c.secret !== 'none') {
      const secret = c.secret;
      it('keeps its secret out of the error and the log when it cannot connect', async () => {
        const { ctx, harness } = sinkContext(c.def, await secret.config());
        const err = await (async () => {
          const w = await c.def.open(ctx);
          await w.start(undefined);
          await w.write(c.sample);
          await w.close();
        })().catch((e: unknown) => e);
        expectNoSecret(err, harness.logs, secret.secret);
      });
    }

    if (c.resumable !== true) {
      const refused = c.resumable.refused;
      it('declares it cannot resume, and refuses a resume and an append clearly', async () => {
        const config = await c.setup();
        const a = await openSink(c.def, config, { key: `conformance/${name}/refuse/${Date.now()}` });
        await a.writer.start(undefined);
        await a.writer.write(c.sample.slice(0, 1));
        const state = await a.writer.commit({ seq: 1, position: 1 });
        await a.writer.abort(new Error('crash'));
        const b = await openSink(c.def, config);
        await expect(b.writer.start(state ?? { seq: 1 })).rejects.toThrow(refused);
        await b.writer.abort(new Error('refused'));
        expect(c.def.transactional).not.toBe(true);
        expect(b.writer.startAppend, 'a sink that cannot resume must not offer append').toBeUndefined();
      });
      return;
    }

    it('resumes after a crash with no duplicate and no missing row', async () => {
      const config = await c.setup();
      const key = `conformance/${name}/${Date.now()}`;
      const half = Math.ceil(c.sample.length / 2);
      const a = await openSink(c.def, config, { key });
      await a.writer.recover?.();
      await a.writer.start(undefined);
      await a.writer.write(c.sample.slice(0, half));
      const state = await a.writer.commit({ seq: 1, position: { n: half } });
      await a.writer.write(c.sample.slice(half)); // lost in the crash
      await a.writer.abort(new Error('crash'));
      const b = await openSink(c.def, config, { key });
      const recovered = await b.writer.recover?.();
      if (c.def.transactional) expect(recovered).toBe(1);
      await b.writer.start(c.def.transactional ? { seq: 1 } : (state ?? undefined));
      await b.writer.write(c.sample.slice(half));
      expect((await b.writer.close()).rowsWritten).toBe(c.sample.length - half);
      expect(await c.readBack(config)).toEqual(c.sample);
    });

    it('appends to what it wrote (a quarantine replay), resumably, with no row lost or doubled', async () => {
      const config = await c.setup();
      const key = `conformance/${name}/append/${Date.now()}`;
      const half = Math.ceil(c.sample.length / 2);
      const first = await openSink(c.def, config);
      await first.writer.start(undefined);
      await first.writer.write(c.sample.slice(0, half));
      await first.writer.close();
      const a = await openSink(c.def, config, { key });
      // Every built-in sink can; one that cannot makes a replay fail (replay.test.ts).
      expect(a.writer.startAppend).toBeDefined();
      await a.writer.recover?.();
      await a.writer.startAppend!(undefined);
      await a.writer.write(c.sample.slice(half, half + 1));
      const state = await a.writer.commit({ seq: 1, position: half + 1 });
      await a.writer.write(c.sample.slice(half + 1)); // lost in the crash
      await a.writer.abort(new Error('crash'));
      const b = await openSink(c.def, config, { key });
      const recovered = await b.writer.recover?.();
      if (c.def.transactional) expect(recovered).toBe(1);
      await b.writer.startAppend!(c.def.transactional ? { seq: 1 } : (state ?? undefined));
      await b.writer.write(c.sample.slice(half + 1));
      // As after any resume, rows committed before the checkpoint are not counted again.
      expect((await b.writer.close()).rowsWritten).toBe(c.sample.length - half - 1);
      expect(await c.readBack(config)).toEqual(c.sample);
    });
  });
}

/** The destination's rows, or none when the sink never made it (a file not written). */
async function readBackOrNone(c: SinkCase, config: Record<string, unknown>): Promise<Row[]> {
  try {
    return await c.readBack(config);
  } catch (e) {
    if (toSluiceError(e).code === ErrorCode.NOT_FOUND) return [];
    throw e;
  }
}

export interface TransformCase {
  def: TransformDefinition;
  config: Record<string, unknown>;
  badConfig: Record<string, unknown>;
  badPath: string;
  input: Row[];
}

export function transformConformance(name: string, c: TransformCase): void {
  describe(`${name} transform conformance`, () => {
    it('rejects a bad config with the JSON path of the bad key', () => {
      expectRejectedAt(c.def, c.badConfig, c.badPath);
    });

    it('maps an empty batch to an empty batch', async () => {
      const t = await createTransform(c.def, c.config);
      expect(await t.run([])).toEqual([]);
    });

    it('never mutates its input rows', async () => {
      const t = await createTransform(c.def, c.config);
      const input = structuredClone(c.input);
      await t.run(input);
      expect(input).toEqual(c.input);
    });
  });
}

export interface TaskCase {
  def: TaskDefinition;
  badConfig: Record<string, unknown>;
  badPath: string;
  /** A config whose run lasts until it is cancelled. */
  endless: Record<string, unknown>;
  secret: SecretCase | 'none';
}

export function taskConformance(name: string, c: TaskCase): void {
  describe(`${name} task conformance`, () => {
    it('rejects a bad config with the JSON path of the bad key', () => {
      expectRejectedAt(c.def, c.badConfig, c.badPath);
    });

    it('stops when cancelled, with the cancel as its error', async () => {
      const ac = new AbortController();
      const running = runTask(c.def, c.endless, { signal: ac.signal }).catch((e: unknown) => e);
      setImmediate(() => ac.abort(new Error('cancelled by test')));
      const e = toSluiceError(await running);
      expect(e.code === ErrorCode.ABORTED || e.message.includes('cancelled by test'), e.message).toBe(true);
    });

    if (c.secret !== 'none') {
      const secret = c.secret;
      it('keeps its secret out of the error and the log when it fails', async () => {
        const { promise, harness } = runTaskWithHarness(c.def, await secret.config());
        expectNoSecret(await promise.catch((e: unknown) => e), harness.logs, secret.secret);
      });
    }
  });
}

function runTaskWithHarness(def: TaskDefinition, config: Record<string, unknown>) {
  const logs: string[] = [];
  return { promise: runTask(def, config, { logs }), harness: { logs } };
}
