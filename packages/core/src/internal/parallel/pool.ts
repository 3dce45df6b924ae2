import { Worker } from 'node:worker_threads';
import type { ConnectorDefinition, WorkerModule } from '../../connector.ts';
import { ErrorCode, SluiceError } from '../../errors.ts';
import { ChunkFlow } from './chunk-flow.ts';
import {
  type ChunkDone,
  type ChunkTask,
  deserializeError,
  type FromWorker,
  type InitMessage,
  type LogEntry,
} from './messages.ts';

interface Waiting {
  resolve(done: ChunkDone): void;
  reject(err: unknown): void;
}

/** One worker thread and the chunks it was given and has not answered yet. */
class Lane {
  readonly worker: Worker;
  readonly pending = new Map<number, Waiting>();
  /** Set while the thread sets the flow up; receives the set-up's logs. */
  #ready: ((logs: LogEntry[]) => void) | undefined;
  #fail: (err: unknown) => void;

  constructor(worker: Worker, fail: (err: unknown) => void) {
    this.worker = worker;
    this.#fail = fail;
    worker.on('message', this.#onMessage);
    worker.on('error', this.#onError);
    worker.on('exit', this.#onExit);
  }

  /** Detaches the lane from its thread, which can then serve another flow. */
  release(): Worker {
    this.worker.off('message', this.#onMessage);
    this.worker.off('error', this.#onError);
    this.worker.off('exit', this.#onExit);
    return this.worker;
  }

  readonly #onMessage = (msg: FromWorker): void => this.#receive(msg);
  // A crash (an uncaught error, running out of memory) fails every chunk in flight: the flow stops.
  readonly #onError = (err: Error): void => this.#fail(err);
  // A thread exits only when stopped (then detached or expected): otherwise the flow must fail,
  // even with no chunk waiting, or the thread would be handed chunks it never answers.
  readonly #onExit = (code: number): void => {
    this.#fail(new SluiceError(ErrorCode.INTERNAL, `a worker thread of the flow exited (code ${code})`));
  };

  /**
   * Sets the thread up for a flow. Not awaited: chunks may follow at once (the thread takes
   * messages in order, once its module is loaded); a set-up failure fails the pool.
   */
  init(msg: InitMessage, onLogs: (logs: LogEntry[]) => void): void {
    this.#ready = onLogs;
    this.worker.postMessage(msg);
  }

  /** True while the thread is still loading its modules and setting the flow up. */
  get starting(): boolean {
    return this.#ready !== undefined;
  }

  run(task: ChunkTask): Promise<ChunkDone> {
    return new Promise((resolve, reject) => {
      this.pending.set(task.seq, { resolve, reject });
      this.worker.postMessage(task, task.spare ? [task.data, task.spare] : [task.data]);
    });
  }

  rejectAll(err: unknown): void {
    this.#ready = undefined;
    for (const w of this.pending.values()) w.reject(err);
    this.pending.clear();
  }

  #receive(msg: FromWorker): void {
    if (msg.type === 'ready') {
      this.#ready?.(msg.logs);
      this.#ready = undefined;
    } else if (msg.type === 'failed' && msg.seq === undefined) {
      this.#ready = undefined;
      this.#fail(deserializeError(msg.error));
    } else {
      const w = this.pending.get(msg.seq!);
      this.pending.delete(msg.seq!);
      if (msg.type === 'done') w?.resolve(msg);
      else w?.reject(deserializeError(msg.error));
    }
  }
}

/**
 * The worker threads of one flow. Chunks go to the thread with the fewest waiting; each answer
 * comes back through the promise of its chunk. An abort, or a thread that dies, fails every chunk
 * in flight, so the flow never waits on a thread that will not answer.
 */
export class WorkerPool {
  readonly #lanes: Lane[];
  readonly #signal: AbortSignal;
  #closed = false;
  /** The first failure of a thread (or the abort): the flow stops with it. */
  #error: { reason: unknown } | undefined;
  #key = '';
  #local: ChunkFlow | undefined;

  private constructor(lanes: Lane[], signal: AbortSignal) {
    this.#lanes = lanes;
    this.#signal = signal;
  }

  /**
   * Starts `threads` workers of `module` and sets them up for the flow; with `local` (the flow's
   * definitions), the main thread takes a share of the chunks too. What components log while they
   * are set up goes to `onLogs`, once (from the main thread's share, or else from one worker).
   */
  static async start(
    module: WorkerModule,
    threads: number,
    init: InitMessage,
    signal: AbortSignal,
    onLogs: (logs: LogEntry[]) => void,
    local?: ConnectorDefinition[],
  ): Promise<WorkerPool> {
    signal.throwIfAborted();
    const where = module.resolve();
    if (where === undefined) throw new SluiceError(ErrorCode.INTERNAL, 'the flow worker module is missing');
    const { url, register } = where;
    const lanes: Lane[] = [];
    const pool = new WorkerPool(lanes, signal);
    const fail = (err: unknown) => pool.#fail(err);
    const idle = IDLE.get(url.href) ?? [];
    for (let i = 0; i < threads; i++) {
      const reused = idle.pop();
      reused?.off('error', dropIdle).off('exit', dropIdle).ref();
      lanes.push(new Lane(reused ?? spawn(url, register), fail));
    }
    pool.#key = url.href;
    signal.addEventListener('abort', pool.#onAbort, { once: true });
    // The threads load their modules while the main thread sets up its own share.
    lanes.forEach((l, i) => {
      l.init({ ...init, logSetup: local === undefined && i === 0 }, onLogs);
    });
    try {
      if (local) {
        pool.#local = await ChunkFlow.create(local, init, signal);
        onLogs(pool.#local.takeLogs());
      }
      return pool;
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  /** True when the main thread takes a share of the chunks (see `runHere`). */
  get sharesWork(): boolean {
    return this.#local !== undefined;
  }

  /**
   * The worker with the fewest chunks waiting, if it has fewer than `most`. A worker still
   * starting counts as full once it holds one chunk: its first chunk also runs before its code is
   * optimized, so more would only queue behind it.
   */
  #lane(most: number): Lane | undefined {
    let best: Lane | undefined;
    for (const lane of this.#lanes) {
      const room = (lane.starting ? 1 : most) - lane.pending.size;
      if (room > 0 && (best === undefined || lane.pending.size < best.pending.size)) best = lane;
    }
    return best;
  }

  /** True when a worker has fewer than `most` chunks waiting. */
  workerRoom(most: number): boolean {
    return this.#error === undefined && this.#lane(most) !== undefined;
  }

  /**
   * Throws the failure of a thread that held no chunk (a crash, a set-up that failed), which no
   * chunk's promise carries; the flow checks it before handing out more.
   */
  check(): void {
    if (this.#error !== undefined) throw this.#error.reason;
  }

  /**
   * Hands `task` to the worker with the fewest chunks waiting (see `workerRoom`); its chunk
   * buffer is transferred, not copied.
   */
  toWorker(task: ChunkTask, most: number): Promise<ChunkDone> {
    if (this.#error !== undefined) return Promise.reject(this.#error.reason);
    const lane = this.#closed ? undefined : this.#lane(most);
    if (lane === undefined)
      return Promise.reject(new SluiceError(ErrorCode.INTERNAL, 'no worker thread has room'));
    return lane.run(task);
  }

  /** Works on `task` on this thread, the main thread's share (only when `sharesWork`). */
  runHere(task: ChunkTask): Promise<ChunkDone> {
    if (this.#error !== undefined) return Promise.reject(this.#error.reason);
    if (this.#closed) return Promise.reject(new SluiceError(ErrorCode.INTERNAL, 'the worker pool is closed'));
    return this.#local!.run(task).then((r) => r.done);
  }

  /**
   * Ends the flow's use of the threads. After a flow that finished cleanly (nothing in flight, no
   * failure, no abort) they stay for the next flow of this process, unreferenced so they never keep
   * it alive: starting one costs more than a small flow takes (loading every connector). Otherwise
   * every thread is stopped at once, whatever it is doing.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal.removeEventListener('abort', this.#onAbort);
    const clean = this.#error === undefined && !this.#signal.aborted;
    const stop: Worker[] = [];
    for (const l of this.#lanes) {
      // A thread still setting up would answer the next flow with this one's set-up: not kept.
      if (clean && l.pending.size === 0 && !l.starting) {
        const w = l.release();
        w.unref();
        // A thread that dies while idle is forgotten; its error must not become an uncaught one.
        w.on('error', dropIdle).on('exit', dropIdle);
        const idle = IDLE.get(this.#key) ?? [];
        IDLE.set(this.#key, idle);
        idle.push(w);
      } else {
        l.rejectAll(new SluiceError(ErrorCode.INTERNAL, 'the worker pool is closed'));
        // Its error (a crash the flow already failed on) may still come: not an uncaught one.
        stop.push(l.release().on('error', () => undefined));
      }
    }
    await Promise.all(stop.map((w) => w.terminate()));
  }

  readonly #onAbort = (): void => {
    this.#fail(this.#signal.reason);
  };

  #fail(err: unknown): void {
    this.#error ??= { reason: err };
    this.#failAll(err);
  }

  #failAll(err: unknown): void {
    for (const l of this.#lanes) l.rejectAll(err);
  }
}

/** Threads of finished flows by worker module, waiting for the next flow (see `close`). */
const IDLE = new Map<string, Worker[]>();

function dropIdle(this: Worker): void {
  for (const idle of IDLE.values()) {
    const i = idle.indexOf(this);
    if (i >= 0) idle.splice(i, 1);
  }
}

function spawn(url: URL, register: string | undefined): Worker {
  if (register === undefined) return new Worker(url);
  // Loader hooks of the main thread do not reach workers, and `--import` in execArgv is not
  // honoured for them (Node 20): the TypeScript loader is registered first, then the module loaded.
  const code =
    `import(${JSON.stringify(register)}).then((m) => { m.register(); ` +
    `return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { eval: true });
}
