import { open } from 'node:fs/promises';
import {
  type ChunkSplit,
  type Json,
  type QuarantineEntry,
  type Row,
  type SinkWriter,
  SOURCE_LINE,
  type WorkerModule,
} from '../../connector.ts';
import type { NetPolicy } from '../../net-policy.ts';
import type { PathPolicy } from '../../paths.ts';
import type { PlannedFlow } from '../../plan.ts';
import type { LogLevel } from '../../run.ts';
import type { Meter } from '../meter.ts';
import type { ChunkDone, ChunkTask, LogEntry } from './messages.ts';
import { serialOrder } from './order.ts';
import { WorkerPool } from './pool.ts';
import { Buffers, type Chunk, ChunkReader, type PieceFile, streamed } from './reader.ts';
import type { ParallelSettings } from './settings.ts';

/** Called once a batch or chunk reached every sink: progress, limits, checkpoints (see flow.ts). */
export type Delivered = (
  sourceRows: number,
  at: Json | undefined,
  progress?: { done: number; total?: number },
  /** The source asked for a checkpoint after this batch (SourceBatch.checkpoint). */
  asked?: boolean,
  /** SourceBatch.lag. */
  lag?: number,
) => Promise<void>;

/** What the flow lends the parallel path: its writers, meters and bookkeeping. */
export interface ChunkHooks {
  options: ParallelSettings;
  /** Hash the source's rows (see ComponentStats.checksum). */
  hashSource: boolean;
  baseDir: string;
  paths?: PathPolicy | undefined;
  network?: NetPolicy | undefined;
  params: Readonly<Record<string, unknown>>;
  signal: AbortSignal;
  writers: SinkWriter[];
  /** Source, transforms, sinks, in flow order. */
  meters: Meter[];
  /** Records an entry as component `c` of the flow (its context's `quarantine`). */
  quarantine(c: number, entry: QuarantineEntry): void;
  /** Throws when more rows were quarantined than the step allows. */
  checkLimit(): void;
  log(c: number, level: LogLevel, message: string): void;
  delivered: Delivered;
}

// Chunks a worker thread holds at a time. The main thread only hands chunks out between its own,
// so a worker must have enough queued to stay busy meanwhile. Measured (2 cores, 1M rows,
// 512 KiB chunks, the same machine state): 2 → CSV to NDJSON 1.99 s, to PostgreSQL 2.75 s;
// 4 → 1.84 s and 2.45 s; deeper queues gained no more.
const CHUNKS_PER_THREAD = 4;
// Chunks in flight besides the workers' CHUNKS_PER_THREAD each: room for the main thread's own
// share, and for those it works on rather than wait while a worker's chunk holds up the in-order
// merge (a worker's first chunks run before its code is optimized). Only the total is bounded: a
// worker still starting holds one chunk, and the main thread may take the rest. Memory stays
// bounded by the chunks in flight times the chunk size (and the rows and bytes a chunk becomes).
// Measured as above: 6, 8 and 12 ran as fast; peak RSS 172, 177 and 187 MB (CSV to PostgreSQL).
const MAIN_AHEAD = 6;

interface InFlight {
  chunk: Chunk;
  /** The encoder states the chunk was encoded for (see SinkWriter.writeEncoded). */
  states: (Json | undefined)[];
  done: Promise<ChunkDone>;
  /** The chunk's work ended (its promise settled): merging it will not wait. */
  settled: boolean;
}

/**
 * Runs a flow's source parsing, transforms and sink encoding in worker threads. The main thread
 * reads and cuts the input, and merges the results strictly in chunk order: sinks receive the
 * same bytes in the same order as on the serial path, quarantine entries are recorded in order,
 * and a checkpoint is only taken after every chunk before its position was written, so a resume
 * neither repeats nor skips a row.
 */
export async function runChunks(
  step: PlannedFlow,
  split: ChunkSplit,
  worker: WorkerModule,
  h: ChunkHooks,
): Promise<void> {
  const components = [step.source, ...step.transforms, ...step.sinks];
  const firstSink = 1 + step.transforms.length;
  /** Rows the source emitted in the chunks merged so far. */
  let rowsBefore = 0;
  const { threads, mainShare } = h.options;
  const pool = await WorkerPool.start(
    worker,
    mainShare ? threads - 1 : threads,
    {
      type: 'init',
      stepId: step.id,
      baseDir: h.baseDir,
      ...(h.paths ? { paths: h.paths } : {}),
      ...(h.network ? { network: h.network } : {}),
      params: h.params,
      components: components.map((c) => ({
        kind: c.def.kind,
        name: c.def.name,
        version: c.def.version,
        id: c.id,
        config: c.config,
      })),
      hashSource: h.hashSource,
      shared: split.shared,
      logSetup: true,
    },
    h.signal,
    (logs) => forward(h, logs),
    mainShare ? components.map((c) => c.def) : undefined,
  );
  let merging: Promise<void> | undefined;
  let failed: { reason: unknown } | undefined;
  const file = await openInput(split, h.signal).catch(async (err) => {
    await pool.close();
    throw err;
  });
  try {
    // A piece read plus the part of a record carried over fits; so does most chunks' output.
    const workers = mainShare ? threads - 1 : threads;
    const most = CHUNKS_PER_THREAD * workers + (mainShare ? MAIN_AHEAD : 0);
    const buffers = new Buffers(2 * h.options.chunkBytes, 2 * most + 2);
    const reader = new ChunkReader(file, split, h.options.chunkBytes, (n) => buffers.get(n));
    const states = h.writers.map((w) => w.encoderState?.());
    const inflight: InFlight[] = [];
    let seq = 0;
    let more = true;
    const nextChunk = async (): Promise<Chunk | undefined> => {
      const chunk = more ? await reader.next() : undefined;
      if (chunk === undefined) more = false;
      return chunk;
    };
    const task = (chunk: Chunk): ChunkTask => ({
      type: 'chunk',
      seq: seq++,
      data: chunk.data.buffer as ArrayBuffer,
      length: chunk.data.length,
      start: chunk.start,
      // A copy: the main thread's share may still be at work when a state gets fixed.
      states: [...states],
      spare: buffers.get(0).buffer as ArrayBuffer,
    });
    const track = (chunk: Chunk, t: ChunkTask, done: Promise<ChunkDone>): void => {
      const f: InFlight = { chunk, states: t.states, done, settled: false };
      // Awaited in order below; a failure of a later chunk must not go unhandled meanwhile.
      done.then(
        () => (f.settled = true),
        () => (f.settled = true),
      );
      inflight.push(f);
    };
    for (;;) {
      if (failed !== undefined) throw failed.reason;
      pool.check();
      // Until every sink's encoder state is fixed (a CSV sink's columns come from the first row
      // it writes), chunks go one at a time and their rows are written on this thread.
      const room = states.every((s) => s !== undefined) ? most : 1;
      // Workers first, up to CHUNKS_PER_THREAD each (messages only lower a worker's count while
      // the read waits: the room found stays); chunks that go one at a time stay on this thread.
      const toWorkers = room > 1 || !pool.sharesWork;
      while (toWorkers && inflight.length < room && pool.workerRoom(CHUNKS_PER_THREAD)) {
        const chunk = await nextChunk();
        if (chunk === undefined) break;
        const t = task(chunk);
        track(chunk, t, pool.toWorker(t, CHUNKS_PER_THREAD));
      }
      const next = inflight[0];
      // Rather than wait for a worker's chunk, the main thread works on the next one itself.
      if (pool.sharesWork && (next === undefined || !next.settled) && inflight.length < room) {
        const chunk = await nextChunk();
        if (chunk !== undefined) {
          const t = task(chunk);
          track(chunk, t, pool.runHere(t));
          continue;
        }
      }
      if (next === undefined) break;
      inflight.shift();
      let done: ChunkDone;
      try {
        done = await next.done;
      } catch (err) {
        // An earlier chunk's merge that failed reports first: errors come in chunk order.
        await merging;
        throw err;
      }
      // One chunk's writes wait in the background while the next is worked on; each merge
      // starts after the one before it ended, so sinks and checkpoints see chunks in order.
      await merging;
      merging = merge(done, next.chunk, next.states).then(() => {
        // Every buffer comes back: sinks copy what they keep (see SinkWriter.writeEncoded).
        for (const b of done.returned) buffers.put(b);
        for (const out of done.sinks) if ('data' in out) buffers.put(out.data.buffer as ArrayBuffer);
        // Taken again after every chunk: a writer's state may change (a table gained a column).
        for (let i = 0; i < states.length; i++) states[i] = h.writers[i]!.encoderState?.() ?? states[i];
      });
      // Awaited above or below; meanwhile its error stops the loop before more is handed out.
      merging.catch((err: unknown) => {
        failed ??= { reason: err };
      });
      // While chunks go one at a time, the next waits for this one's state.
      if (room === 1) await merging;
    }
    await merging;
  } finally {
    // On an error, a merge still writing ends before the threads and the file are closed.
    await merging?.catch(() => undefined);
    await pool.close();
    await file.close();
  }

  async function merge(done: ChunkDone, chunk: Chunk, used: (Json | undefined)[]): Promise<void> {
    done.figures.forEach((f, c) => {
      const m = h.meters[c]!;
      if (c > 0 && c < firstSink) m.rowsIn += f.rowsIn;
      if (c < firstSink) {
        m.rowsOut += f.rowsOut;
        if (f.checksum !== undefined) m.checksum?.plus(f.checksum);
      }
      m.ms += f.ms;
    });
    for (const group of serialOrder(done.quarantine, done.lines, rowsBefore, split.batchRows)) {
      for (const q of group) h.quarantine(q.c, q.entry);
      h.checkLimit();
    }
    rowsBefore += done.figures[0]!.rowsOut;
    forward(h, done.logs);
    if (done.rows > 0) {
      const t0 = performance.now();
      const writes = h.writers.map((w, i) => {
        h.meters[firstSink + i]!.rowsIn += done.rows;
        const out = done.sinks[i]!;
        if ('data' in out) return w.writeEncoded!(out.data, done.rows, used[i]!);
        return writeBatches(w, withLines(out.rows, out.lines), out.ends);
      });
      await Promise.all(writes);
      const dt = performance.now() - t0;
      for (let i = 0; i < h.writers.length; i++) h.meters[firstSink + i]!.ms += dt;
    }
    await h.delivered(done.figures[0]!.rowsOut, split.position(chunk.end), {
      done: chunk.end.offset,
      total: split.size,
    });
  }
}

/** A local file is read at its positions; any other input, as the stream the source gives. */
async function openInput(split: ChunkSplit, signal: AbortSignal): Promise<PieceFile> {
  return split.bytes ? streamed(split.bytes(split.start.offset, signal)) : open(split.path, 'r');
}

function forward(h: ChunkHooks, logs: LogEntry[]): void {
  for (const l of logs) h.log(l.c, l.level, l.message);
}

async function writeBatches(w: SinkWriter, rows: Row[], ends: number[]): Promise<void> {
  let from = 0;
  for (const end of ends) {
    await w.write(from === 0 && end === rows.length ? rows : rows.slice(from, end));
    from = end;
  }
}

function withLines(rows: Row[], lines: (number | undefined)[]): Row[] {
  for (let i = 0; i < rows.length; i++) {
    const line = lines[i];
    if (line !== undefined) rows[i]![SOURCE_LINE] = line;
  }
  return rows;
}
