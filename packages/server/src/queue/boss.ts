import { sql } from 'drizzle-orm';
import { fromDrizzle, fromPglite, PgBoss } from 'pg-boss';
import type { Database } from '../db/open.ts';

export const JOBS_QUEUE = 'sluice-jobs';
export const DEAD_LETTER_QUEUE = 'sluice-dead-letter';

/** What a queued message carries: the job row holds everything else. */
export interface JobMessage {
  jobId: string;
}

export interface QueueOptions {
  /** Seconds between a worker's heartbeats; a worker silent this long is presumed dead. @defaultValue 10 */
  heartbeatSeconds?: number;
  /** Longest a job may run before pg-boss gives up on it. @defaultValue 86400 */
  expireInSeconds?: number;
}

/**
 * Starts pg-boss on the platform's database (PGlite through its adapter, or a pool of its own on a
 * server) with the jobs queue and its dead-letter queue. A job's attempts are Sluice's: a failed
 * job is sent again by its worker, and `max_attempts` on the job row bounds them. pg-boss's own
 * retries only cover a worker that died (its heartbeat stopped): the message is taken up again,
 * and after `retryLimit` such losses it goes to the dead-letter queue.
 */
export async function createQueue(database: Database, opts: QueueOptions = {}): Promise<PgBoss> {
  // The monitor pass finds jobs whose worker stopped beating; every 10 s (not pg-boss's 60) so a
  // lost worker's job is taken up again within about twice the heartbeat (measured: 60 s → ~65 s
  // from kill to pickup; 10 s → ~20 s, the crash test now 25 s instead of 75 s).
  const common = { useListenNotify: true, superviseIntervalSeconds: 10, monitorIntervalSeconds: 10 };
  const boss =
    database.kind === 'pglite'
      ? new PgBoss({ ...common, db: fromPglite(database.pglite!), backend: 'pglite' })
      : new PgBoss({ ...common, connectionString: database.url!, max: 4 });
  boss.on('error', () => undefined); // surfaced by the operations that fail
  await boss.start();
  await ensureQueue(boss, DEAD_LETTER_QUEUE, { retryLimit: 0, notify: true });
  await ensureQueue(boss, JOBS_QUEUE, {
    retryLimit: 3,
    retryDelay: 1,
    deadLetter: DEAD_LETTER_QUEUE,
    heartbeatSeconds: opts.heartbeatSeconds ?? 10,
    expireInSeconds: opts.expireInSeconds ?? 86_400,
    notify: true,
  });
  return boss;
}

async function ensureQueue(boss: PgBoss, name: string, options: Parameters<PgBoss['createQueue']>[1]) {
  const existing = await boss.getQueue(name);
  if (existing) await boss.updateQueue(name, options);
  else await boss.createQueue(name, options);
}

/** A Drizzle transaction handle, as `db.transaction` gives it. */
export type Tx = Parameters<Parameters<Database['db']['transaction']>[0]>[0];

/** Enqueues inside the caller's transaction: the job row and its message commit together or not at all. */
export async function enqueueInTransaction(boss: PgBoss, tx: Tx, message: JobMessage): Promise<string> {
  const id = await boss.send(JOBS_QUEUE, message, { db: fromDrizzle(tx as never, sql as never) });
  if (!id) throw new Error(`pg-boss refused job ${message.jobId}`);
  return id;
}
