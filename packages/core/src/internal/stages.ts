import type { Row, TransformFn, TransformStage } from '../connector.ts';
import type { Meter } from './meter.ts';

/** What a transform's `create` made, as a stage: a plain function pushes and holds nothing. */
export function asStage(made: TransformFn | TransformStage): TransformStage {
  return typeof made === 'function' ? { push: made } : made;
}

/** The transforms of a flow, with the meters that count what each took and passed on. */
export class StageChain {
  readonly #stages: TransformStage[];
  readonly #meters: Meter[];
  #closed = false;

  constructor(stages: TransformStage[], meters: Meter[]) {
    this.#stages = stages;
    this.#meters = meters;
  }

  /** Rows through the stages from `from` on; what comes out goes to the sinks. */
  async push(rows: Row[], from = 0): Promise<Row[]> {
    for (let i = from; i < this.#stages.length; i++) {
      const m = this.#meters[i]!;
      m.rowsIn += rows.length;
      const t0 = performance.now();
      const out = this.#stages[i]!.push(rows);
      rows = out instanceof Promise ? await out : out;
      m.ms += performance.now() - t0;
      m.emitted(rows);
    }
    return rows;
  }

  /**
   * Once the input ended: each stage that held rows yields them, in order, and they go through the
   * stages after it (which may hold them in turn); yields what reaches the sinks.
   */
  async *finish(signal: AbortSignal): AsyncGenerator<Row[]> {
    for (let i = 0; i < this.#stages.length; i++) {
      const finish = this.#stages[i]!.finish;
      if (!finish) continue;
      const m = this.#meters[i]!;
      const it = finish.call(this.#stages[i])[Symbol.asyncIterator]();
      try {
        for (;;) {
          const t0 = performance.now();
          const next = await it.next();
          m.ms += performance.now() - t0;
          if (next.done) break;
          m.emitted(next.value);
          const rows = await this.push(next.value, i + 1);
          if (rows.length > 0) yield rows;
          signal.throwIfAborted();
        }
      } finally {
        await it.return?.();
      }
    }
  }

  /** Closes every stage once (see closeStages). */
  async close(failed: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await closeStages(this.#stages, failed);
  }
}

/**
 * Closes each stage. After a success a failed close fails the flow (a stage's results may not be
 * complete); after a failure the first error is the one that counts, so close errors are dropped.
 */
export async function closeStages(stages: readonly TransformStage[], failed: boolean): Promise<void> {
  let first: unknown;
  for (const s of stages) {
    try {
      await s.close?.();
    } catch (err) {
      first ??= err;
    }
  }
  if (!failed && first !== undefined) throw first;
}
