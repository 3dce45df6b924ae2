import { sql } from 'drizzle-orm';
import { fromDrizzle, fromPglite, PgBoss } from 'pg-boss';
import type { Database } from '../db/open.ts';

export const JOBS_QUEUE = 'sluice-jobs';
export const DEAD_LETTER_QUEUE = 'sluice-dead-letter';
/** One message per outbound webhook delivery (services/hook-deliveries.ts). */
export const WEBHOOKS_QUEUE = 'sluice-webhooks';
/** One message per successful job: starts the pipelines that run after it (services/dependents.ts). */
export const DEPENDENTS_QUEUE = 'sluice-dependents';

/**
 * A delivery is tried 5 times (pg-boss's retries: the first and 4 more), waiting about 10 s, 20 s,
 * 40 s and 80 s in between (exponential, with jitter): a receiver down for a minute or two still
 * gets it. Tests shorten `retryDelay` with updateQueue.
 */
export const WEBHOOK_RETRIES = { retryLimit: 4, retryDelay: 10, retryBackoff: true, retryDelayMax: 600 };

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
  await ensureQueue(boss, WEBHOOKS_QUEUE, { ...WEBHOOK_RETRIES, expireInSeconds: 120, notify: true });
  await ensureQueue(boss, DEPENDENTS_QUEUE, {
    retryLimit: 5,
    retryDelay: 5,
    retryBackoff: true,
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

/** pg-boss's `db` option for a send inside the caller's transaction. */
export const inTransaction = (tx: Tx) => ({ db: fromDrizzle(tx as never, sql as never) });

/** Enqueues inside the caller's transaction: the job row and its message commit together or not at all. */
export async function enqueueInTransaction(boss: PgBoss, tx: Tx, message: JobMessage): Promise<string> {
  const id = await boss.send(JOBS_QUEUE, message, inTransaction(tx));
  if (!id) throw new Error(`pg-boss refused job ${message.jobId}`);
  return id;
}
