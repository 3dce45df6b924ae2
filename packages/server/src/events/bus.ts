import { type SQL, sql } from 'drizzle-orm';
import type { Tx } from '../queue/boss.ts';
import { channelsOf, type JobEvent, type LiveMessage, type Published } from './messages.ts';
import { CHANNEL, type Notifier } from './notifier.ts';

// NOTIFY refuses payloads of 8000 bytes or more; long log lines are cut to stay well below.
const MAX_PAYLOAD = 7000;

type Listener = (m: LiveMessage) => void;

/**
 * Publishes job events to every process (through the notifier) and fans them out, in this process,
 * to the subscribers of the channels each event reaches.
 */
export class EventBus {
  readonly #notifier: Notifier;
  readonly #subscribers = new Map<string, Set<Listener>>();

  private constructor(notifier: Notifier) {
    this.#notifier = notifier;
  }

  static async start(notifier: Notifier): Promise<EventBus> {
    const bus = new EventBus(notifier);
    await notifier.listen((payload) => bus.#deliver(payload));
    return bus;
  }

  readonly #inFlight = new Set<Promise<void>>();

  async publish(pipelineId: string, event: JobEvent): Promise<void> {
    // A queued job wakes idle workers (see feedJobs): it does not wait to be gathered with others.
    const urgent = event.type === 'status' && event.payload.status === 'queued';
    await this.#notifier.notify(payloadOf(pipelineId, event), urgent);
  }

  /**
   * Publishes with the caller's transaction: the events go out when it commits, and not at all if
   * it rolls back, so a status change and its announcement cost one transaction, not two.
   */
  async publishIn(tx: Tx, pipelineId: string, ...events: JobEvent[]): Promise<void> {
    if (events.length === 0) return;
    // Events emitted before and still gathered (log lines) go first, in the same statement: one
    // less of their own. Should the transaction roll back they are lost, as live events may be.
    const payloads = [...this.#notifier.take(), ...events.map((e) => payloadOf(pipelineId, e))];
    await tx.execute(sql`SELECT ${notifyCalls(payloads)}`);
  }

  /**
   * The events as the target list of a SELECT (`pg_notify(…), pg_notify(…)`), for a statement
   * that publishes them with what it writes: `WITH w AS (UPDATE … RETURNING 1) SELECT <this> FROM w`.
   */
  notifying(pipelineId: string, ...events: JobEvent[]): SQL {
    return notifyCalls(events.map((e) => payloadOf(pipelineId, e)));
  }

  /**
   * Publishes without waiting: events are live views (the database is the record), and a job's
   * events sent together go out in one statement. Order is kept; `close` waits for them.
   */
  emit(pipelineId: string, event: JobEvent): void {
    const sent = this.publish(pipelineId, event).catch(() => undefined);
    this.#inFlight.add(sent);
    void sent.finally(() => this.#inFlight.delete(sent));
  }

  /** Returns the function that unsubscribes. */
  subscribe(channel: string, listener: Listener): () => void {
    let set = this.#subscribers.get(channel);
    if (!set) {
      set = new Set();
      this.#subscribers.set(channel, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#subscribers.delete(channel);
    };
  }

  async close(): Promise<void> {
    // Events still going out get a moment; a database that went away does not hold the shutdown.
    await Promise.race([Promise.all(this.#inFlight), new Promise((r) => setTimeout(r, 5000).unref())]);
    this.#subscribers.clear();
    await this.#notifier.close();
  }

  #deliver(payload: string): void {
    let e: Published;
    try {
      e = JSON.parse(payload) as Published;
    } catch {
      return; // not ours: someone else NOTIFYing on the channel
    }
    const { pipelineId: _, ...event } = e;
    for (const channel of channelsOf(e)) {
      const set = this.#subscribers.get(channel);
      if (!set) continue;
      const message = { ...event, channel } as LiveMessage;
      for (const listener of set) listener(message);
    }
  }
}

/** In order: a SELECT's target list is evaluated left to right. */
function notifyCalls(payloads: readonly string[]): SQL {
  return sql.join(
    payloads.map((payload) => sql`pg_notify(${CHANNEL}, ${payload})`),
    sql`, `,
  );
}

function payloadOf(pipelineId: string, event: JobEvent): string {
  return fit({ ...event, pipelineId, timestamp: new Date().toISOString() } as Published);
}

function fit(e: Published): string {
  const text = JSON.stringify(e);
  if (Buffer.byteLength(text) <= MAX_PAYLOAD) return text;
  if (e.type === 'log') {
    const { metadata: _, ...rest } = e.payload;
    const cut = { ...e, payload: { ...rest, message: truncate(rest.message, MAX_PAYLOAD - 1000) } };
    return JSON.stringify(cut);
  }
  if (e.type === 'error') {
    return JSON.stringify({
      ...e,
      payload: { ...e.payload, message: truncate(e.payload.message, MAX_PAYLOAD - 1000) },
    });
  }
  return text;
}

function truncate(s: string, bytes: number): string {
  const b = Buffer.from(s);
  if (b.length <= bytes) return s;
  // Cut on a character boundary: decoding a partial sequence would leave a replacement char.
  return `${b
    .subarray(0, bytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '')}… (truncated; the full line is in the job's log)`;
}
