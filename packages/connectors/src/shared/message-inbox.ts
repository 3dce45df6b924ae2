import type { SluiceError } from '@sluice/core';

/**
 * Messages a broker pushes (an AMQP consumer, an MQTT subscription), held until the source takes
 * them in batches. The broker's own flow control (a prefetch window, a receive maximum) bounds how
 * many wait here, so memory stays flat however fast the producer is.
 */
export class MessageInbox<M> {
  #items: M[] = [];
  #failure: SluiceError | undefined;
  #wake: (() => void) | undefined;

  push(item: M): void {
    this.#items.push(item);
    this.#wake?.();
  }

  /** The consumer failed (the connection dropped, the queue was deleted): `take` throws it. */
  fail(err: SluiceError): void {
    this.#failure ??= err;
    this.#wake?.();
  }

  get size(): number {
    return this.#items.length;
  }

  /** Every message held, failed or not: what a closing source gives back to its broker. */
  takeAll(): M[] {
    return this.#items.splice(0);
  }

  /**
   * Up to `max` messages: as soon as `max` are here, else whatever came within `waitMs` (maybe none).
   * Returns early, with what is here, when either signal aborts.
   */
  async take(max: number, waitMs: number, signals: readonly AbortSignal[]): Promise<M[]> {
    const until = performance.now() + waitMs;
    while (this.#items.length < max && this.#failure === undefined && !signals.some((s) => s.aborted)) {
      const left = until - performance.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          for (const s of signals) s.removeEventListener('abort', done);
          this.#wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, left);
        for (const s of signals) s.addEventListener('abort', done, { once: true });
        this.#wake = done;
      });
    }
    if (this.#failure !== undefined) throw this.#failure;
    return this.#items.splice(0, max);
  }
}
