import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Acknowledger,
  asStage,
  type ComponentContext,
  type ConnectorDefinition,
  type DatasetArea,
  datasetArea,
  type Json,
  type QuarantineEntry,
  Registry,
  type Row,
  type SinkContext,
  type SinkDefinition,
  type SourceContext,
  type SourceDefinition,
  type TaskContext,
  type TaskDefinition,
  type TransformDefinition,
} from '@sluice/core';

/** Drives connectors directly, as the runner does, with configs validated (defaults filled). */
export interface Harness {
  quarantined: QuarantineEntry[];
  logs: string[];
  origin: string | undefined;
  /** Rows a sink reported as merged by key. */
  merged: number;
  /** What the component counted (ComponentContext.count), by name. */
  counters?: Record<string, number>;
  /** What a streaming source registered to acknowledge its messages (SourceContext.acknowledger). */
  acknowledger?: Acknowledger;
}

const registry = new Registry();

// The run's dataset area as the harness gives it, one per test process: a test names its datasets
// uniquely (its own prefix), as a test of a database uses its own schema.
let harnessDatasets: DatasetArea | undefined;
export function harnessDatasetArea(): DatasetArea {
  harnessDatasets ??= datasetArea(mkdtempSync(join(tmpdir(), 'sluice-harness-datasets-')));
  return harnessDatasets;
}

export function validConfig<C>(def: ConnectorDefinition, config: unknown): C {
  return registry.validate<C>(def, config, 'with');
}

function base<C>(
  def: ConnectorDefinition,
  config: unknown,
  h: Harness,
  signal: AbortSignal,
  baseDir: string,
): ComponentContext<C> {
  const log = (level: string) => (m: string) => h.logs.push(`${level} ${m}`);
  return {
    config: validConfig<C>(def, config),
    signal,
    stepId: 'test',
    componentId: `test.0:${def.name}`,
    baseDir,
    params: {},
    datasets: harnessDatasetArea(),
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    quarantine: (e) => h.quarantined.push(e),
    count: (name, n) => {
      h.counters ??= {};
      h.counters[name] = (h.counters[name] ?? 0) + n;
    },
  };
}

export interface ContextOptions {
  signal?: AbortSignal;
  baseDir?: string;
  resumeFrom?: Json;
  state?: Map<string, Json>;
  params?: Record<string, unknown>;
  /** A streaming source's stop signal (SourceContext.stop): aborted, it drains and returns. */
  stop?: AbortSignal;
}

export function sourceContext<C>(def: SourceDefinition, config: unknown, opts: ContextOptions = {}) {
  const h: Harness = { quarantined: [], logs: [], origin: undefined, merged: 0 };
  const state = opts.state ?? new Map<string, Json>();
  const ctx: SourceContext<C> = {
    ...base<C>(def, config, h, opts.signal ?? new AbortController().signal, opts.baseDir ?? process.cwd()),
    resumeFrom: opts.resumeFrom,
    state: { get: (k) => state.get(k), set: (k, v) => void state.set(k, v) },
    setOrigin: (o) => {
      h.origin = o;
    },
    stop: opts.stop ?? new AbortController().signal,
    acknowledger: (a) => {
      h.acknowledger = a;
    },
  };
  return { ctx, harness: h, state };
}

export interface ReadResult {
  rows: Row[];
  positions: Json[];
  batches: number;
  harness: Harness;
}

/**
 * Reads a source to the end (or `maxBatches`), collecting rows and the position after each batch.
 * A streaming source's messages are then acknowledged up to the last position, as a flow does once
 * its sinks committed them (`acknowledge: false` leaves them unacknowledged, as a crash would).
 */
export async function readSource(
  def: SourceDefinition,
  config: unknown,
  opts: ContextOptions & { maxBatches?: number; acknowledge?: boolean } = {},
): Promise<ReadResult> {
  const { ctx, harness } = sourceContext(def, config, opts);
  const rows: Row[] = [];
  const positions: Json[] = [];
  let batches = 0;
  try {
    for await (const b of def.read(ctx)) {
      rows.push(...b.rows);
      if (b.position !== undefined) positions.push(b.position);
      if (++batches === opts.maxBatches) break;
    }
    const last = positions.at(-1);
    if (opts.acknowledge !== false && last !== undefined) await harness.acknowledger?.commit(last);
  } finally {
    await harness.acknowledger?.close();
  }
  return { rows, positions, batches, harness };
}

export function sinkContext<C>(
  def: SinkDefinition,
  config: unknown,
  opts: ContextOptions & { key?: string } = {},
) {
  const h: Harness = { quarantined: [], logs: [], origin: undefined, merged: 0 };
  const ctx: SinkContext<C> = {
    ...base<C>(def, config, h, opts.signal ?? new AbortController().signal, opts.baseDir ?? process.cwd()),
    checkpointKey: opts.key ?? 'test/key',
    merged: (rows) => {
      h.merged += rows;
    },
  };
  return { ctx, harness: h };
}

export async function openSink(
  def: SinkDefinition,
  config: unknown,
  opts: ContextOptions & { key?: string } = {},
) {
  const { ctx, harness } = sinkContext(def, config, opts);
  return { writer: await def.open(ctx), harness };
}

export async function createTransform(def: TransformDefinition, config: unknown, opts: ContextOptions = {}) {
  const h: Harness = { quarantined: [], logs: [], origin: undefined, merged: 0 };
  const ctx = base(
    def,
    config,
    h,
    opts.signal ?? new AbortController().signal,
    opts.baseDir ?? process.cwd(),
  );
  const stage = asStage(await def.create({ ...ctx, params: opts.params ?? {} }));
  return {
    run: async (rows: Row[]) => await stage.push(rows),
    /** The rows a stage held until its input ended, then closes it. */
    finish: async () => {
      const out: Row[] = [];
      try {
        if (stage.finish) for await (const rows of stage.finish()) out.push(...rows);
      } finally {
        await stage.close?.();
      }
      return out;
    },
    harness: h,
  };
}

/** Runs a task to its end in a fresh directory; its log lines go to `opts.logs`. */
export async function runTask(
  def: TaskDefinition,
  config: unknown,
  opts: ContextOptions & { logs?: string[] } = {},
) {
  const h: Harness = { quarantined: [], logs: opts.logs ?? [], origin: undefined, merged: 0 };
  const dir = opts.baseDir ?? mkdtempSync(join(tmpdir(), 'sluice-task-'));
  const ctx: TaskContext<unknown> = {
    ...base(def, config, h, opts.signal ?? new AbortController().signal, dir),
    workDir: dir,
    stepDir: join(dir, '.state'),
    filesDir: join(dir, '.state', 'files'),
  };
  return await def.run(ctx);
}
