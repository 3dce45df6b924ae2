import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/**
 * Carries text payloads between processes over PostgreSQL's LISTEN/NOTIFY: in-process for PGlite,
 * across API and worker processes for a server. NOTIFY payloads must stay under 8000 bytes.
 */
export interface Notifier {
  notify(payload: string): Promise<void>;
  listen(onPayload: (payload: string) => void): Promise<void>;
  close(): Promise<void>;
}

export const CHANNEL = 'sluice_events';

export function pgliteNotifier(db: PGlite): Notifier {
  let stop: (() => Promise<void>) | undefined;
  return {
    notify: async (payload) => {
      await db.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
    },
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
    notify: async (payload) => {
      await publish.query('SELECT pg_notify($1, $2)', [CHANNEL, payload]);
    },
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
