import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/**
 * Carries text payloads between processes over PostgreSQL's LISTEN/NOTIFY: in-process for PGlite,
 * across API and worker processes for a server. NOTIFY payloads must stay under 8000 bytes.
 */
export interface Notifier {
  /** `urgent`: send it (and what is gathered with it) at once, not after the gathering delay. */
  notify(payload: string, urgent?: boolean): Promise<void>;
  /**
   * Takes what is gathered and not yet sent, for the caller to send with a statement of its own
   * (EventBus.publishIn): none when an older gathering is still on its way, which must go first.
   */
  take(): string[];
  listen(onPayload: (payload: string) => void): Promise<void>;
  close(): Promise<void>;
}

export const CHANNEL = 'sluice_events';

// One statement per event made NOTIFY a job's most frequent round trip (8 of about 30). Events
// published within a few milliseconds (a short job's whole life) go out in one statement, in
// order: the target list of a SELECT is evaluated left to right. Changes of a job's state go out
// with the transactions that make them (EventBus.publishIn); what comes here is mostly log lines
// and progress, and 100 ms gather those of a busy worker's jobs into one statement, at most 10 a
// second per process, a delay no one watching a log sees. A longer gathering is more often taken
// by the job's next transaction instead of going out on its own: with 25 ms, a no-op job cost
// 6.3 transactions; with 100 ms, 5.7 (bench:platform, the shell case, counted in the clients).
const MAX_BATCH = 64;
const GATHER_MS = 100;

/** A `notify` that sends what was published within GATHER_MS in one statement, and its `take`. */
function batched(
  run: (sql: string, params: string[]) => Promise<unknown>,
): Pick<Notifier, 'notify' | 'take'> {
  type Batch = { payloads: string[]; seen: Set<string>; sent: Promise<void>; go: () => void };
  let batch: Batch | undefined;
  // Gatherings not yet sent: the current one may be taken only when it is the only one.
  let unsent = 0;
  // Each batch waits for the one before: on a pool, two statements may take different sessions.
  let previous = Promise.resolve();
  const open = () => {
    const b: Batch = { payloads: [], seen: new Set(), sent: Promise.resolve(), go: () => undefined };
    const after = previous;
    unsent++;
    b.sent = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, GATHER_MS);
      b.go = () => {
        clearTimeout(timer);
        setImmediate(resolve);
      };
    })
      .then(() => after)
      .then(() => {
        if (batch === b) batch = undefined;
        unsent--;
        if (b.payloads.length === 0) return; // taken
        const calls = b.payloads.map((_, i) => `pg_notify($1, $${i + 2})`).join(', ');
        return run(`SELECT ${calls}`, [CHANNEL, ...b.payloads]);
      })
      .then(() => undefined);
    previous = b.sent.catch(() => undefined);
    return b;
  };
  return {
    notify: (payload, urgent) => {
      // PostgreSQL folds identical notifications of one transaction into one: a repeat starts a batch.
      if (!batch || batch.payloads.length >= MAX_BATCH || batch.seen.has(payload)) batch = open();
      batch.payloads.push(payload);
      batch.seen.add(payload);
      if (urgent) batch.go();
      return batch.sent;
    },
    take: () => {
      if (!batch || unsent !== 1) return [];
      const taken = batch.payloads;
      batch.payloads = [];
      batch.seen.clear();
      return taken;
    },
  };
}

export function pgliteNotifier(db: PGlite): Notifier {
  let stop: (() => Promise<void>) | undefined;
  return {
    ...batched((sql, params) => db.query(sql, params)),
    listen: async (onPayload) => {
      stop = await db.listen(CHANNEL, onPayload);
    },
    close: async () => {
      await stop?.();
    },
  };
}

/**
 * A server needs one dedicated session to LISTEN on (a pooled one may be handed to other work);
 * when it drops, the listener reconnects with a capped backoff: events published meanwhile are
 * lost, which live views tolerate — the database stays the record.
 */
export function pgNotifier(url: string, publish: pg.Pool, onError: (err: Error) => void): Notifier {
  let client: pg.Client | undefined;
  let closed = false;
  let handler: ((payload: string) => void) | undefined;
  let delay = 250;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, application_name: 'sluice-events' });
    c.on('notification', (m) => {
      if (m.channel === CHANNEL && m.payload !== undefined) handler?.(m.payload);
    });
    c.on('error', (err) => {
      onError(err);
      void reconnect();
    });
    await c.connect();
    await c.query(`LISTEN ${CHANNEL}`);
    client = c;
    delay = 250;
  };
  const reconnect = async (): Promise<void> => {
    const old = client;
    client = undefined;
    await old?.end().catch(() => undefined);
    while (!closed && client === undefined) {
      await new Promise((r) => setTimeout(r, delay).unref());
      delay = Math.min(delay * 2, 10_000);
      try {
        if (!closed) await connect();
      } catch (err) {
        onError(err as Error);
      }
    }
  };
  return {
    ...batched((sql, params) => publish.query(sql, params)),
    listen: async (onPayload) => {
      handler = onPayload;
      await connect();
    },
    close: async () => {
      closed = true;
      await client?.end().catch(() => undefined);
    },
  };
}
