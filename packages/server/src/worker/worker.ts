import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ErrorCode, MAX_WORKER_TAGS, SluiceError, WORKER_TAG_PATTERN } from '@sluice/core';
import { and, eq, inArray, isNotNull, notInArray } from 'drizzle-orm';
import { jobExecutions, workers } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import {
  DEAD_LETTER_QUEUE,
  type JobMessage,
  PARTITIONS_QUEUE,
  type PartitionMessage,
} from '../queue/boss.ts';
import { afterJobEnded, workAfterJobs } from '../services/after-job.ts';
import { afterBackfillJob } from '../services/backfills.ts';
import { losePartition } from '../services/partitions.ts';
import { feedJobs, SETTLED } from './job-feed.ts';
import { type RunnerOptions, runJob, Shutdown } from './job-runner.ts';
import { deferJob, takeJobSlot } from './job-slot.ts';
import { runPartition } from './partition-runner.ts';
import { StepHostPool } from './step-hosts.ts';
import { writeLog } from './step-recorder.ts';

export interface WorkerOptions extends Partial<Omit<RunnerOptions, 'workerId' | 'hosts'>> {
  /** Jobs this process runs at once. @defaultValue 2 */
  concurrency?: number;
  /**
   * Parts of partitioned steps this process runs at once, besides its jobs (a job waiting for its
   * parts holds a job slot but no process). @defaultValue `concurrency`
   */
  partitionConcurrency?: number;
  /**
   * Steps (of one pipeline) a step process runs before it is replaced; 1 starts a fresh process
   * for every step. @defaultValue 100
   */
  stepsPerProcess?: number;
  /**
   * What this worker offers (`--tags browser,gpu`): it takes the jobs whose steps' `runsOn` tags
   * are all among these, and no others need them. @defaultValue none: only jobs that need no tag
   */
  tags?: string[];
}

const defaults = {
  tags: [],
  concurrency: 2,
  stepConcurrency: 4,
  stepMemoryMb: 1024,
  stepsPerProcess: 100,
} satisfies WorkerOptions;

export interface Worker {
  id: string;
  /**
   * Stops taking jobs; running ones finish within `graceMs`, or are handed back to the queue
   * (their steps stopped, to resume elsewhere from their checkpoints). @defaultValue graceMs 10000
   */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

/**
 * How long a worker with free slots waits before looking at an empty queue again. A job or part
 * queued anywhere wakes every worker at once (its `queued` event), so this only bounds how late
 * a message no event announces is taken: a retry whose backoff ran out, a job sent back for a
 * later slot, an event lost while the bus reconnected. At 500 ms the two feeds (jobs, parts) of
 * each worker made 4 queries a second whenever they had a free slot, busy or not.
 */
const FALLBACK_POLL_MS = 2000;

/**
 * Takes jobs from the queue and runs them. Registers itself in `workers` (the fleet's live
 * view) with a heartbeat, and polls for cancel marks on its running jobs once a second.
 */
export async function startWorker(p: Platform, options: WorkerOptions = {}): Promise<Worker> {
  const o = { ...defaults, ...options };
  const id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const running = new Map<string, AbortController>();
  // Parts running here, by partition id, with their job: a cancel of the job stops them too.
  const parts = new Map<string, { jobId: string; ac: AbortController }>();
  const settling = new Set<Promise<unknown>>();
  const db = p.database.db;
  const tags = checkTags(o.tags);
  await db
    .insert(workers)
    .values({ id, hostname: hostname(), pid: process.pid, concurrency: o.concurrency, tags });

  const beat = setInterval(() => {
    void db
      .update(workers)
      .set({ lastSeenAt: new Date(), running: running.size })
      .where(eq(workers.id, id))
      .catch(() => undefined);
  }, 10_000);
  const cancels = setInterval(() => {
    const ids = new Set([...running.keys(), ...[...parts.values()].map((x) => x.jobId)]);
    if (ids.size === 0) return;
    void db
      .select({ id: jobExecutions.id })
      .from(jobExecutions)
      .where(and(inArray(jobExecutions.id, [...ids]), isNotNull(jobExecutions.cancelRequestedAt)))
      .then((rows) => {
        for (const r of rows) {
          running.get(r.id)?.abort(new Error('the job was cancelled'));
          for (const x of parts.values())
            if (x.jobId === r.id) x.ac.abort(new Error('the job was cancelled'));
        }
      })
      .catch(() => undefined);
  }, 1000);
  beat.unref();
  cancels.unref();

  // As many kept processes as steps can run at once: a busy worker never starts one for nothing.
  const hosts = new StepHostPool({
    stepsPerProcess: o.stepsPerProcess,
    maxIdle: o.concurrency * o.stepConcurrency,
  });
  const runner: RunnerOptions = {
    workerId: id,
    hosts,
    stepConcurrency: o.stepConcurrency,
    stepMemoryMb: o.stepMemoryMb,
    ...(o.killGraceMs === undefined ? {} : { killGraceMs: o.killGraceMs }),
    ...(o.modules ? { modules: o.modules } : {}),
  };
  // A message pg-boss gave up on (its worker died too often) lands here: the job is dead-lettered.
  await p.queue.work<JobMessage | PartitionMessage>(
    DEAD_LETTER_QUEUE,
    { pollingIntervalSeconds: 5 },
    async ([m]) => {
      if ('partitionId' in m!.data) return losePartition(p, m!.data.partitionId);
      const jobId = m!.data.jobId;
      const now = new Date();
      const job = await db.transaction(async (tx) => {
        const [row] = await tx
          .update(jobExecutions)
          .set({
            status: 'failed',
            deadLetteredAt: now,
            completedAt: now,
            error: { code: 'INTERNAL', message: "the job's worker was lost too many times" },
          })
          .where(and(eq(jobExecutions.id, jobId), notInArray(jobExecutions.status, ['success', 'cancelled'])))
          .returning();
        if (row) await afterJobEnded(p, tx, row, 'failed');
        return row;
      });
      if (job) {
        await writeLog(p, job.pipelineId, jobId, {
          level: 'ERROR',
          message: 'moved to the dead-letter queue',
        });
        await afterBackfillJob(p, job.backfillId);
      }
    },
  );
  // Outbound webhooks and dependent pipelines, queued as jobs end (services/after-job.ts).
  const stopAfterJobs = await workAfterJobs(p);
  // Last: once it runs, jobs run, so nothing after it may fail and leave it running unowned.
  const feed = feedJobs<JobMessage>(
    p.queue,
    p.bus,
    { concurrency: o.concurrency, pollMs: FALLBACK_POLL_MS, tags },
    async (message) => {
      const { jobId } = message.data;
      const slot = await takeJobSlot(p, message.data);
      if (slot === 'busy') {
        await deferJob(p, message);
        return SETTLED;
      }
      const ac = new AbortController();
      running.set(jobId, ac);
      // The job's end completes its message in the same transaction: the feed leaves it then.
      const done = runJob(p, jobId, runner, ac.signal, { name: message.name, id: message.id });
      settling.add(done);
      try {
        return (await done) === 'settled' ? SETTLED : undefined;
      } finally {
        running.delete(jobId);
        settling.delete(done);
        if (slot !== 'free') await slot();
      }
    },
  );

  // Parts of partitioned steps, from any job: a job that waits for its parts holds no process,
  // so parts have slots of their own and a worker busy with jobs still runs them.
  const partFeed = feedJobs<PartitionMessage>(
    p.queue,
    p.bus,
    {
      concurrency: o.partitionConcurrency ?? o.concurrency,
      pollMs: FALLBACK_POLL_MS,
      queue: PARTITIONS_QUEUE,
      wakeOn: (m) =>
        m.type === 'status' && m.payload.status === 'queued' && m.payload.partition !== undefined,
    },
    async (message) => {
      const ac = new AbortController();
      parts.set(message.data.partitionId, { jobId: message.data.jobId, ac });
      const done = runPartition(
        p,
        message.data.partitionId,
        { name: message.name, id: message.id },
        runner,
        ac.signal,
      );
      settling.add(done);
      try {
        return (await done) === 'settled' ? SETTLED : undefined;
      } finally {
        parts.delete(message.data.partitionId);
        settling.delete(done);
      }
    },
  );

  return {
    id,
    stop: async ({ graceMs = 10_000 } = {}) => {
      clearInterval(beat);
      await feed.stop();
      await partFeed.stop();
      await p.queue.offWork(DEAD_LETTER_QUEUE, { wait: false }).catch(() => undefined);
      await stopAfterJobs().catch(() => undefined);
      const all = Promise.allSettled([...settling]);
      const late = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref()),
      ]);
      if (late) {
        for (const ac of running.values()) ac.abort(new Shutdown());
        for (const x of parts.values()) x.ac.abort(new Shutdown());
        await all;
      }
      clearInterval(cancels);
      await feed.drained();
      await partFeed.drained();
      hosts.close();
      await db
        .delete(workers)
        .where(eq(workers.id, id))
        .catch(() => undefined);
    },
  };
}

/** The worker's tags, sorted, or a clear error naming the one that is not a tag. */
function checkTags(tags: readonly string[]): string[] {
  const pattern = new RegExp(WORKER_TAG_PATTERN);
  for (const t of tags)
    if (!pattern.test(t))
      throw new SluiceError(
        ErrorCode.CONFIG,
        `worker tag "${t}" is not a tag: use lower-case letters, digits, - and _ (e.g. --tags browser,gpu)`,
      );
  if (tags.length > MAX_WORKER_TAGS)
    throw new SluiceError(
      ErrorCode.CONFIG,
      `a worker takes at most ${MAX_WORKER_TAGS} tags (it has ${tags.length}); run workers with fewer`,
    );
  return [...new Set(tags)].sort();
}
