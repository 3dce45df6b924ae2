import {
  type ComponentContext,
  type ConnectorDefinition,
  type Json,
  type QuarantineEntry,
  type Row,
  SOURCE_LINE,
  type SourceDefinition,
  type TransformFn,
} from '../../connector.ts';
import { ErrorCode, SluiceError } from '../../errors.ts';
import type { LogLevel } from '../../run.ts';
import { Meter } from '../meter.ts';
import { asStage } from '../stages.ts';
import type { ChunkDone, ChunkTask, FlowComponent, InitMessage, LogEntry, SinkOutput } from './messages.ts';

type Encode = (rows: Row[]) => Uint8Array | undefined;

/** An encoder gave a batch back (see RowEncoder): the chunk runs again, its rows for the writers. */
const DEFERRED = Symbol('deferred');

/**
 * One flow's components applied to one chunk at a time, in a worker thread or for the main
 * thread's share: the same definitions, configs and code as on the serial path. What they quarantine or log is collected and sent
 * back with the chunk's result, for the main thread to record in chunk order.
 */
export class ChunkFlow {
  readonly #init: InitMessage;
  readonly #defs: ConnectorDefinition[];
  readonly #signal: AbortSignal;
  #quarantined: { c: number; entry: QuarantineEntry }[] = [];
  #logs: LogEntry[] = [];
  #contexts: ComponentContext<unknown>[] = [];
  #transforms: TransformFn[] = [];
  /** Each sink's encoder, made for the state it was last given (kept as JSON to compare). */
  #encoders: ({ state: string; encode: Encode } | undefined)[] = [];

  private constructor(init: InitMessage, defs: ConnectorDefinition[], signal: AbortSignal) {
    this.#init = init;
    this.#defs = defs;
    this.#signal = signal;
  }

  /** `defs`: the definitions of `init.components`, in the same order. */
  static async create(
    defs: ConnectorDefinition[],
    init: InitMessage,
    signal: AbortSignal,
  ): Promise<ChunkFlow> {
    const flow = new ChunkFlow(init, defs, signal);
    flow.#contexts = init.components.map((c, i) => flow.#context(c, i));
    for (let i = 1; i < defs.length; i++) {
      const def = defs[i]!;
      // A row-local transform holds nothing (see `rowLocal`): its stage is its push alone.
      if (def.kind === 'transform') flow.#transforms.push(asStage(await def.create(flow.#contexts[i]!)).push);
    }
    return flow;
  }

  /** Logs of the set-up, then of nothing: chunks return their own. */
  takeLogs(): LogEntry[] {
    const logs = this.#logs;
    this.#logs = [];
    return logs;
  }

  async run(task: ChunkTask): Promise<{ done: ChunkDone; transfer: ArrayBuffer[] }> {
    try {
      return await this.#run(task);
    } catch (err) {
      if (err !== DEFERRED) throw err;
      // Rare (a new field, say): parsing the chunk again costs less than keeping every chunk's rows.
      this.#quarantined = [];
      this.#logs = [];
      return this.#run({ ...task, states: task.states.map(() => undefined) });
    }
  }

  async #run(task: ChunkTask): Promise<{ done: ChunkDone; transfer: ArrayBuffer[] }> {
    const init = this.#init;
    const chunk = Buffer.from(task.data, 0, task.length);
    const meters = init.components.map((c, i) => new Meter(c.id, c.name, c.kind, i === 0 && init.hashSource));
    const src = meters[0]!;
    const firstSink = 1 + this.#transforms.length;
    const sinks = this.#defs.length - firstSink;
    // The first sink's output goes straight into the spare buffer the main thread sent.
    const outs = Array.from({ length: sinks }, (_, i) => new Output(i === 0 ? task.spare : undefined));
    const raw: Row[] = [];
    const ends: number[] = [];
    const anyRaw = task.states.some((st) => st === undefined);
    const lines: number[] = [];
    let delivered = 0;
    const source = this.#defs[0] as SourceDefinition;
    const batches = source
      .chunked!.parse(this.#contexts[0]!, chunk, task.start, init.shared)
      [Symbol.iterator]();
    // Batch by batch through every component, as on the serial path: rows die young.
    for (;;) {
      let t0 = performance.now();
      const next = batches.next();
      src.ms += performance.now() - t0;
      if (next.done) break;
      let rows = next.value;
      src.emitted(rows);
      for (const r of rows) lines.push(r[SOURCE_LINE] ?? -1);
      for (let i = 0; i < this.#transforms.length; i++) {
        const m = meters[i + 1]!;
        m.rowsIn += rows.length;
        t0 = performance.now();
        const out = this.#transforms[i]!(rows);
        rows = out instanceof Promise ? await out : out;
        m.ms += performance.now() - t0;
        m.emitted(rows);
      }
      if (rows.length === 0) continue;
      delivered += rows.length;
      // Sinks whose encoder state is not fixed yet get the rows themselves (all such sinks the same).
      if (anyRaw) {
        for (const r of rows) raw.push(r);
        ends.push(raw.length);
      }
      for (let i = 0; i < sinks; i++) {
        const state = task.states[i];
        if (state === undefined) continue;
        t0 = performance.now();
        // Copied at once: the encoder may write the next batch over these bytes.
        const bytes = this.#encoder(firstSink + i, state)(rows);
        if (bytes === undefined) throw DEFERRED;
        outs[i]!.push(bytes);
        meters[firstSink + i]!.ms += performance.now() - t0;
      }
    }
    const transfer: ArrayBuffer[] = [task.data];
    let spare = task.spare;
    const outputs: SinkOutput[] = outs.map((o, i) => {
      // Structured clones drop symbol keys: the source lines travel beside the rows.
      if (task.states[i] === undefined) return { rows: raw, lines: raw.map((r) => r[SOURCE_LINE]), ends };
      const data = o.bytes();
      if (data.buffer === spare) spare = undefined;
      transfer.push(data.buffer as ArrayBuffer);
      return { data };
    });
    const done: ChunkDone = {
      type: 'done',
      seq: task.seq,
      figures: meters.map((m) => ({
        rowsIn: m.rowsIn,
        rowsOut: m.rowsOut,
        ...(m.checksum ? { checksum: m.checksum.toString() } : {}),
        ms: m.ms,
      })),
      quarantine: this.#quarantined,
      logs: this.#logs,
      rows: delivered,
      sinks: outputs,
      returned: spare ? [task.data, spare] : [task.data],
    };
    if (spare) transfer.push(spare);
    if (this.#quarantined.length > 0 && !lines.includes(-1)) {
      done.lines = Int32Array.from(lines);
      transfer.push(done.lines.buffer as ArrayBuffer);
    }
    this.#quarantined = [];
    this.#logs = [];
    return { done, transfer };
  }

  #encoder(i: number, state: Json): Encode {
    const key = JSON.stringify(state);
    const have = this.#encoders[i];
    if (have?.state === key) return have.encode;
    const def = this.#defs[i]!;
    if (def.kind !== 'sink' || !def.rowEncoder)
      throw new SluiceError(ErrorCode.INTERNAL, `${def.name} has no row encoder`);
    const encode = def.rowEncoder.create(this.#contexts[i]!, state);
    this.#encoders[i] = { state: key, encode };
    return encode;
  }

  #context(c: FlowComponent, index: number): ComponentContext<unknown> {
    const at = (level: LogLevel) => (message: string) => {
      this.#logs.push({ c: index, level, message });
    };
    return {
      config: c.config,
      signal: this.#signal,
      stepId: this.#init.stepId,
      componentId: c.id,
      baseDir: this.#init.baseDir,
      paths: this.#init.paths,
      network: this.#init.network,
      params: this.#init.params,
      log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
      quarantine: (entry) => {
        const line = entry.line ?? entry.row?.[SOURCE_LINE];
        this.#quarantined.push({ c: index, entry: line === undefined ? entry : { ...entry, line } });
      },
    };
  }
}

/** A sink's output for one chunk, in a buffer of its own, so that it can be transferred. */
class Output {
  #buf: Uint8Array;
  #length = 0;

  constructor(spare: ArrayBuffer | undefined) {
    this.#buf = spare ? new Uint8Array(spare) : new Uint8Array(0);
  }

  push(bytes: Uint8Array): void {
    if (this.#length + bytes.length > this.#buf.length) {
      const next = new Uint8Array(Math.max(2 * this.#buf.length, this.#length + bytes.length, 1 << 16));
      next.set(this.#buf.subarray(0, this.#length));
      this.#buf = next;
    }
    this.#buf.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#length);
  }
}
