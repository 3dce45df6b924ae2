import pg from 'pg';
import type { Database } from '../db/open.ts';

/** Gives a slot back. Safe to call twice. */
export type Release = () => Promise<void>;

/**
 * Counted slots shared by every process of one platform: a pipeline's `concurrency`, a
 * credential's. Slot `i` of key `k` is the PostgreSQL advisory lock (hashtext(k), i), held by one
 * session per process, so a process that dies gives its slots back with its connection, whatever
 * state its rows were left in. Within the process, a map says which slots it holds already (a
 * session takes its own advisory lock again without waiting). PGlite is one process (the data
 * directory's lock file sees to it), so the map is all there is to it there.
 */
export interface SlotBook {
  /** A free slot of `key` among `limit`, taken at once; undefined when all are held. */
  tryTake(key: string, limit: number): Promise<Release | undefined>;
  /**
   * Waits for a slot: woken by a release in this process, and every `pollMs` for one in another
   * process (advisory locks notify no one). Rejects with the signal's reason when it aborts.
   */
  take(key: string, limit: number, o: { signal: AbortSignal; pollMs?: number }): Promise<Release>;
  close(): Promise<void>;
}

export function slotBook(database: Database): SlotBook {
  const held = new Map<string, Set<number>>();
  const waiters = new Set<() => void>();
  let session: Promise<pg.Client> | undefined;
  let closed = false;

  // One connection of its own: the pool's clients come and go, and a lock stays with its session.
  const connect = (): Promise<pg.Client> => {
    session ??= (async () => {
      const c = new pg.Client({ connectionString: database.url!, application_name: 'sluice-slots' });
      // A dropped session has given its locks back; the next take connects again.
      c.on('error', () => {
        session = undefined;
      });
      c.on('end', () => {
        session = undefined;
      });
      await c.connect();
      return c;
    })().catch((err) => {
      session = undefined;
      throw err;
    });
    return session;
  };
  const lock = async (fn: 'pg_try_advisory_lock' | 'pg_advisory_unlock', key: string, i: number) => {
    if (database.kind === 'pglite') return true;
    const c = await connect();
    const r = await c.query<{ ok: boolean }>(`SELECT ${fn}(hashtext($1), $2) AS ok`, [key, i]);
    return r.rows[0]!.ok;
  };

  const tryTake = async (key: string, limit: number): Promise<Release | undefined> => {
    if (closed) throw new Error('the slot book is closed');
    const mine = held.get(key) ?? new Set<number>();
    held.set(key, mine);
    for (let i = 0; i < limit; i++) {
      if (mine.has(i)) continue;
      // Marked before the await: a concurrent take in this process tries the next slot.
      mine.add(i);
      let ok = false;
      try {
        ok = await lock('pg_try_advisory_lock', key, i);
      } finally {
        if (!ok) mine.delete(i);
      }
      if (ok) return releaser(key, i);
    }
    if (mine.size === 0) held.delete(key);
    return undefined;
  };

  const releaser = (key: string, i: number): Release => {
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      try {
        if (!closed) await lock('pg_advisory_unlock', key, i);
      } catch {
        // the session is gone, and its locks with it
      } finally {
        const mine = held.get(key);
        mine?.delete(i);
        if (mine?.size === 0) held.delete(key);
        for (const wake of [...waiters]) wake();
      }
    };
  };

  return {
    tryTake,
    take: async (key, limit, { signal, pollMs = 1000 }) => {
      for (;;) {
        signal.throwIfAborted();
        const got = await tryTake(key, limit);
        if (got) return got;
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(t);
            waiters.delete(wake);
            signal.removeEventListener('abort', wake);
            resolve();
          };
          const t = setTimeout(wake, pollMs);
          waiters.add(wake);
          signal.addEventListener('abort', wake, { once: true });
        });
      }
    },
    close: async () => {
      closed = true;
      for (const wake of [...waiters]) wake();
      const s = session;
      session = undefined;
      if (s) await (await s.catch(() => undefined))?.end().catch(() => undefined);
    },
  };
}
