import type { Job, PgBoss } from 'pg-boss';
import type { EventBus } from '../events/bus.ts';
import { JOBS_QUEUE, type JobMessage } from '../queue/boss.ts';

export interface JobFeedOptions {
  /** Jobs run at once. */
  concurrency: number;
  /** With free slots and an empty queue, how long to wait before looking again. */
  pollMs: number;
}

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
export function feedJobs(
  boss: PgBoss,
  bus: EventBus,
  o: JobFeedOptions,
  handle: (m: JobMessage) => Promise<void>,
): JobFeed {
  const running = new Map<string, { job: Job<JobMessage>; touched: number }>();
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
  const unsubscribe = bus.subscribe('global', (m) => {
    if (m.type === 'status' && m.payload.status === 'queued' && !m.payload.stepId) nudge();
  });
  // A running job is touched twice per heartbeat period of its queue, or it counts as lost.
  const beat = setInterval(() => {
    if (stopped && running.size === 0) return clearInterval(beat);
    const now = Date.now();
    const due = [...running.values()].filter((r) => now - r.touched >= (r.job.heartbeatSeconds ?? 10) * 500);
    if (due.length === 0) return;
    for (const r of due) r.touched = now;
    boss
      .touch(
        JOBS_QUEUE,
        due.map((r) => r.job),
      )
      .catch(() => undefined);
  }, 1000);
  beat.unref();

  const start = (job: Job<JobMessage>) => {
    running.set(job.id, { job, touched: Date.now() });
    const done = handle(job.data)
      .then(
        () => boss.complete(JOBS_QUEUE, job),
        (err: Error) => boss.fail(JOBS_QUEUE, job, { message: err.message }),
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
      nudged = false;
      let got = 0;
      const free = o.concurrency - running.size;
      if (free > 0) {
        try {
          const jobs = await boss.fetch<JobMessage>(JOBS_QUEUE, { batchSize: free });
          got = jobs.length;
          // Taken while stopping: run anyway (the worker finishes them or hands them back).
          for (const job of jobs) start(job);
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
