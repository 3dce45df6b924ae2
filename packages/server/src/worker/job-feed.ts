import type { Job, PgBoss } from 'pg-boss';
import type { EventBus } from '../events/bus.ts';
import type { LiveMessage } from '../events/messages.ts';
import { GROUP_LIMITS, JOBS_QUEUE, queueTags } from '../queue/boss.ts';

export interface JobFeedOptions {
  /** Jobs run at once. */
  concurrency: number;
  /** With free slots and an empty queue, how long to wait before looking again. */
  pollMs: number;
  /** The worker's tags: it takes from the queue of each tag set among them (queue/boss.ts jobQueue). */
  tags?: readonly string[];
  /**
   * Another queue than the jobs queues (the partitions queue): taken from as it is, with no tag
   * sets and no pipeline concurrency groups.
   */
  queue?: string;
  /** The event that says a message was queued here. @defaultValue a job's `queued` status */
  wakeOn?: (m: LiveMessage) => boolean;
}

const jobQueued = (m: LiveMessage) =>
  m.type === 'status' && m.payload.status === 'queued' && !m.payload.stepId;

/** A handler's answer when it settled its message itself (sent the job back): the feed leaves it. */
export const SETTLED = 'settled';

// How often the list of tagged queues is read again (at once, too, when a job is queued).
const QUEUES_REFRESH_MS = 5000;

export interface JobFeed {
  /** Stops taking jobs; running ones go on (and are heartbeaten) until they settle. */
  stop(): Promise<void>;
  /** Resolves once every job taken is settled with the queue (completed or failed). */
  drained(): Promise<void>;
}

/**
 * Takes jobs from the queue as slots free up. pg-boss's `work()` waits out its polling interval
 * after every job shorter than it, whatever the backlog (its burst mode reads a ready count that
 * its monitor refreshes every 10 s): with one-step jobs, 4 slots took at most 8 jobs a second. Here
 * a slot that frees fetches at once; an empty fetch waits for a job to be queued (the `queued`
 * event every process sees) or for the polling interval, whichever comes first.
 */
export function feedJobs<M extends object>(
  boss: PgBoss,
  bus: EventBus,
  o: JobFeedOptions,
  handle: (job: Job<M>) => Promise<unknown>,
): JobFeed {
  const tags = new Set(o.tags ?? []);
  let queues: string[] = [o.queue ?? JOBS_QUEUE];
  let queuesReadAt = 0;
  // The queues of the tag sets this worker has; the most specific first: their jobs can run on
  // fewer workers. Priority orders the jobs within each queue.
  const readQueues = async () => {
    if (tags.size === 0 || o.queue) return;
    const all = await boss.getQueues();
    queues = all
      .map((q) => ({ name: q.name, tags: queueTags(q.name) }))
      .filter((q) => q.tags?.every((t) => tags.has(t)))
      .sort((a, b) => b.tags!.length - a.tags!.length || a.name.localeCompare(b.name))
      .map((q) => q.name);
    queuesReadAt = Date.now();
  };
  const running = new Map<string, { job: Job<M>; touched: number }>();
  const settling = new Set<Promise<unknown>>();
  let stopped = false;
  let nudged = false;
  let wake: (() => void) | undefined;
  const nudge = () => {
    nudged = true;
    wake?.();
  };
  const pause = (ms: number) =>
    nudged
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        }).finally(() => {
          wake = undefined;
        });
  const wakeOn = o.wakeOn ?? jobQueued;
  const unsubscribe = bus.subscribe('global', (m) => {
    if (wakeOn(m)) nudge();
  });
  // A running job is touched twice per heartbeat period of its queue, or it counts as lost.
  const beat = setInterval(() => {
    if (stopped && running.size === 0) return clearInterval(beat);
    const now = Date.now();
    const due = [...running.values()].filter((r) => now - r.touched >= (r.job.heartbeatSeconds ?? 10) * 500);
    if (due.length === 0) return;
    for (const r of due) r.touched = now;
    for (const name of new Set(due.map((r) => r.job.name)))
      boss
        .touch(
          name,
          due.filter((r) => r.job.name === name).map((r) => r.job),
        )
        .catch(() => undefined);
  }, 1000);
  beat.unref();

  const start = (job: Job<M>) => {
    running.set(job.id, { job, touched: Date.now() });
    const done = handle(job)
      .then(
        (handled) => (handled === SETTLED ? undefined : boss.complete(job.name, job)),
        (err: Error) => boss.fail(job.name, job, { message: err.message }),
      )
      .catch(() => undefined) // the queue gone: the job is taken up again when its heartbeat lapses
      .finally(() => {
        running.delete(job.id);
        settling.delete(done);
        nudge();
      });
    settling.add(done);
  };

  const loop = (async () => {
    while (!stopped) {
      const fresh = nudged || Date.now() - queuesReadAt > QUEUES_REFRESH_MS;
      nudged = false;
      let got = 0;
      if (o.concurrency - running.size > 0) {
        try {
          if (fresh) await readQueues();
          for (const name of queues) {
            const free = o.concurrency - running.size;
            if (free <= 0) break;
            // Jobs of a pipeline whose `concurrency` is reached stay queued, not handed out.
            const jobs = await boss.fetch<M>(name, {
              batchSize: free,
              ...(o.queue ? {} : { groupConcurrency: GROUP_LIMITS }),
            });
            got += jobs.length;
            // Taken while stopping: run anyway (the worker finishes them or hands them back).
            for (const job of jobs) start(job);
          }
        } catch {
          // the database is away for a moment: try again after the pause
        }
      }
      if (stopped) break;
      // Jobs came and slots are left: the queue may hold more, look again at once.
      if (got > 0 && running.size < o.concurrency) continue;
      await pause(o.pollMs);
    }
  })();

  return {
    stop: async () => {
      stopped = true;
      nudge();
      await loop;
      unsubscribe();
    },
    drained: async () => {
      while (settling.size > 0) await Promise.all([...settling]);
    },
  };
}
