import { MAX_PIPELINE_CONCURRENCY } from '@sluice/core';
import { sql } from 'drizzle-orm';
import { fromDrizzle, fromPglite, PgBoss } from 'pg-boss';
import type { Database } from '../db/open.ts';

export const JOBS_QUEUE = 'sluice-jobs';
export const DEAD_LETTER_QUEUE = 'sluice-dead-letter';
/** One message per outbound webhook delivery (services/hook-deliveries.ts). */
export const WEBHOOKS_QUEUE = 'sluice-webhooks';
/** One message per successful job: starts the pipelines that run after it (services/dependents.ts). */
export const DEPENDENTS_QUEUE = 'sluice-dependents';
/** One message per part of a partitioned step (services/partitions.ts): any worker runs it. */
export const PARTITIONS_QUEUE = 'sluice-partitions';

/**
 * A delivery is tried 5 times (pg-boss's retries: the first and 4 more), waiting about 10 s, 20 s,
 * 40 s and 80 s in between (exponential, with jitter): a receiver down for a minute or two still
 * gets it. Tests shorten `retryDelay` with updateQueue.
 */
export const WEBHOOK_RETRIES = { retryLimit: 4, retryDelay: 10, retryBackoff: true, retryDelayMax: 600 };

/** The queue message that carried a job, as pg-boss names it: its end completes it. */
export interface JobMessageRef {
  name: string;
  id: string;
}

/** What a queued message carries: the job row holds everything else. */
export interface JobMessage {
  jobId: string;
  /**
   * The job's pipeline and its `concurrency` (null: no limit), so a worker takes the pipeline's
   * slot without reading the row. Absent from messages sent before they were carried.
   */
  pipelineId?: string;
  concurrency?: number | null;
}

/** What a partition's message carries: its row holds the rest. */
export interface PartitionMessage {
  partitionId: string;
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
  const jobs: QueueSettings = {
    retryLimit: 3,
    retryDelay: 1,
    deadLetter: DEAD_LETTER_QUEUE,
    heartbeatSeconds: opts.heartbeatSeconds ?? 10,
    expireInSeconds: opts.expireInSeconds ?? 86_400,
    notify: true,
  };
  jobQueueSettings.set(boss, { settings: jobs, ready: new Set([JOBS_QUEUE]) });
  await ensureQueue(boss, JOBS_QUEUE, jobs);
  // A partition's worker lost too often lands in the dead-letter queue too: its row says failed.
  await ensureQueue(boss, PARTITIONS_QUEUE, jobs);
  await ensureQueue(boss, WEBHOOKS_QUEUE, { ...WEBHOOK_RETRIES, expireInSeconds: 120, notify: true });
  await ensureQueue(boss, DEPENDENTS_QUEUE, {
    retryLimit: 5,
    retryDelay: 5,
    retryBackoff: true,
    notify: true,
  });
  return boss;
}

type QueueSettings = Parameters<PgBoss['createQueue']>[1];

// Per pg-boss instance: the jobs queues' settings, and the tagged queues known to exist.
const jobQueueSettings = new WeakMap<PgBoss, { settings: QueueSettings; ready: Set<string> }>();

async function ensureQueue(boss: PgBoss, name: string, options: QueueSettings) {
  const existing = await boss.getQueue(name);
  if (existing) return boss.updateQueue(name, options);
  // Another process may create it between the look and the create.
  await boss.createQueue(name, options).catch(async (err) => {
    if (!(await boss.getQueue(name))) throw err;
  });
}

/** A Drizzle transaction handle, as `db.transaction` gives it. */
export type Tx = Parameters<Parameters<Database['db']['transaction']>[0]>[0];

/** pg-boss's `db` option for a send inside the caller's transaction. */
export const inTransaction = (tx: Tx) => ({ db: fromDrizzle(tx as never, sql as never) });

/** What decides where and when a job's message is taken: a job row has these. */
export interface JobRouting {
  id: string;
  pipelineId: string;
  priority: number;
  concurrency: number | null;
  runsOn: readonly string[];
}

/**
 * The queue of the jobs whose steps need `tags`: one queue per tag set, so a worker takes only
 * what it can run by fetching from the queues of the subsets of its own tags (worker/job-feed.ts).
 */
export function jobQueue(tags: readonly string[]): string {
  return tags.length === 0 ? JOBS_QUEUE : `${JOBS_QUEUE}.${[...tags].sort().join('.')}`;
}

/** The tags a jobs queue's name stands for; undefined for a queue that is not a jobs queue. */
export function queueTags(name: string): string[] | undefined {
  if (name === JOBS_QUEUE) return [];
  return name.startsWith(`${JOBS_QUEUE}.`) ? name.slice(JOBS_QUEUE.length + 1).split('.') : undefined;
}

/**
 * Thrown inside a transaction that would send to a tag-set queue not created yet: the caller
 * prepares it (prepareJobQueue, outside any transaction) and runs the transaction again.
 */
export class QueueNotReady extends Error {
  constructor(readonly tags: readonly string[]) {
    super(`the queue ${jobQueue(tags)} is not prepared`);
  }
}

/**
 * Runs `work` in a transaction; when it meets a queue not created yet (QueueNotReady), creates
 * the queue outside the transaction and runs it once more.
 */
export async function withJobQueues<T>(
  database: Database,
  boss: PgBoss,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  try {
    return await database.db.transaction(work);
  } catch (err) {
    if (!(err instanceof QueueNotReady)) throw err;
    await prepareJobQueue(boss, err.tags);
    return database.db.transaction(work);
  }
}

/**
 * Creates the job's tag-set queue if it is new. Called before a transaction that enqueues: on
 * PGlite, pg-boss's own handle inside the caller's transaction would wait for it forever.
 */
export async function prepareJobQueue(boss: PgBoss, tags: readonly string[]): Promise<void> {
  const known = jobQueueSettings.get(boss);
  if (!known) throw new Error('the queue was not opened with createQueue');
  const name = jobQueue(tags);
  if (known.ready.has(name)) return;
  await ensureQueue(boss, name, known.settings);
  known.ready.add(name);
}

/**
 * The pg-boss group limits every fetch passes (worker/job-feed.ts): a job of a pipeline with
 * `concurrency: N` is in group `<pipeline id>` of tier `N`, and pg-boss hands out no job of a group
 * whose active jobs reach its tier's limit. The tiers cover every `concurrency` a spec may declare.
 */
export const GROUP_LIMITS = {
  default: 1,
  tiers: Object.fromEntries(Array.from({ length: MAX_PIPELINE_CONCURRENCY }, (_, i) => [`${i + 1}`, i + 1])),
};

/**
 * Sends a job's message to its tag set's queue, with its priority and its pipeline's concurrency
 * group; inside the caller's transaction when `tx` is given (a queue not created yet is then QueueNotReady:
 * see withJobQueues).
 */
export async function sendJob(
  boss: PgBoss,
  job: JobRouting,
  o: { tx?: Tx; startAfterSeconds?: number } = {},
): Promise<string> {
  if (!o.tx) await prepareJobQueue(boss, job.runsOn);
  else if (!jobQueueSettings.get(boss)?.ready.has(jobQueue(job.runsOn))) throw new QueueNotReady(job.runsOn);
  const message: JobMessage = { jobId: job.id, pipelineId: job.pipelineId, concurrency: job.concurrency };
  const id = await boss.send(jobQueue(job.runsOn), message, {
    priority: job.priority,
    ...(job.concurrency === null ? {} : { group: { id: job.pipelineId, tier: `${job.concurrency}` } }),
    ...(o.startAfterSeconds ? { startAfter: o.startAfterSeconds } : {}),
    ...(o.tx ? { db: fromDrizzle(o.tx as never, sql as never) } : {}),
  });
  if (!id) throw new Error(`pg-boss refused job ${job.id}`);
  return id;
}

/** Enqueues inside the caller's transaction: the job row and its message commit together or not at all. */
export async function enqueueInTransaction(boss: PgBoss, tx: Tx, job: JobRouting): Promise<string> {
  return sendJob(boss, job, { tx });
}

/**
 * Work waiting for a worker, as pg-boss last counted: the jobs in every jobs queue (the untagged one
 * and each tag set's) and the parts of partitioned steps (what autoscaling on queue depth scales on).
 */
export async function queuedJobs(boss: PgBoss): Promise<number> {
  const all = await boss.getQueues();
  return all
    .filter((q) => queueTags(q.name) !== undefined || q.name === PARTITIONS_QUEUE)
    .reduce((a, q) => a + (q.queuedCount ?? 0), 0);
}
