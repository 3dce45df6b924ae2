import {
  Registry,
  type Row,
  type SinkDefinition,
  type SourceDefinition,
  type TransformDefinition,
} from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { createTransform, openSink, readSource } from './harness.ts';

/**
 * The suite every connector passes (STYLE rule 4). A case supplies a config that reads known
 * rows from a fresh input; the suite checks the contract the runner relies on.
 */
export interface SourceCase {
  def: SourceDefinition;
  /** Prepares an input holding `rows` and returns the config that reads it. */
  setup(rows: Row[]): Promise<Record<string, unknown>>;
  /** A config the schema must reject. */
  badConfig: Record<string, unknown>;
  /** Rows the source yields for `sample`, as the source types them. */
  sample: Row[];
  /** Whether the source can resume from a position. */
  resumable: boolean;
}

// Entries only: the SOURCE_LINE symbol a source may set is not part of the data.
const plain = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r)));

export function sourceConformance(name: string, c: SourceCase): void {
  describe(`${name} source conformance`, () => {
    it('rejects a bad config with a path', () => {
      expect(new Registry().check(c.def, c.badConfig, 'with').length).toBeGreaterThan(0);
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

    it('stops when cancelled', async () => {
      const config = await c.setup(c.sample);
      const ac = new AbortController();
      ac.abort(new Error('cancelled by test'));
      const r = await readSource(c.def, { ...config, batchSize: 1 }, { signal: ac.signal }).catch(
        (e: unknown) => e,
      );
      // Either the read throws the abort, or it ends without reading everything.
      if (!(r instanceof Error)) expect((r as { rows: Row[] }).rows.length).toBeLessThan(c.sample.length);
    });
  });
}

export interface SinkCase {
  def: SinkDefinition;
  /** Prepares an empty destination and returns the sink config writing to it. */
  setup(): Promise<Record<string, unknown>>;
  /** Reads the destination back, as rows comparable with what was written. */
  readBack(config: Record<string, unknown>): Promise<Row[]>;
  badConfig: Record<string, unknown>;
  sample: Row[];
}

export function sinkConformance(name: string, c: SinkCase): void {
  describe(`${name} sink conformance`, () => {
    it('rejects a bad config with a path', () => {
      expect(new Registry().check(c.def, c.badConfig, 'with').length).toBeGreaterThan(0);
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

export interface TransformCase {
  def: TransformDefinition;
  config: Record<string, unknown>;
  badConfig: Record<string, unknown>;
  input: Row[];
}

export function transformConformance(name: string, c: TransformCase): void {
  describe(`${name} transform conformance`, () => {
    it('rejects a bad config with a path', () => {
      expect(new Registry().check(c.def, c.badConfig, 'with').length).toBeGreaterThan(0);
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
