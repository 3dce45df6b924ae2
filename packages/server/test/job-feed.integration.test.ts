import { describe, expect, it } from 'vitest';
import { JOBS_QUEUE, type JobMessage } from '../src/queue/boss.ts';
import { feedJobs } from '../src/worker/job-feed.ts';
import { testPlatform } from './helpers/platform.ts';

describe('taking jobs from the queue', () => {
  it('takes a backlog job after job without waiting out the polling interval, and never runs more at once than its slots', async () => {
    const p = await testPlatform('pglite');
    try {
      // Queued before the feed starts, and straight into pg-boss: no `queued` event will wake it.
      for (let i = 0; i < 12; i++) await p.queue.send(JOBS_QUEUE, { jobId: `job-${i}` });
      const handled: string[] = [];
      let running = 0;
      let most = 0;
      let drained!: () => void;
      const all = new Promise<void>((resolve) => {
        drained = resolve;
      });
      // A poll this long would leave all but the first jobs of each slot waiting for minutes.
      const feed = feedJobs<JobMessage>(
        p.queue,
        p.bus,
        { concurrency: 2, pollMs: 600_000 },
        async ({ data: { jobId } }) => {
          running++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 20));
          running--;
          handled.push(jobId);
          if (handled.length === 12) drained();
        },
      );
      await all;
      await feed.stop();
      await feed.drained();
      expect([...handled].sort()).toEqual(Array.from({ length: 12 }, (_, i) => `job-${i}`).sort());
      expect(most).toBe(2);
      // Every message completed in the queue: nothing left to take.
      expect(await p.queue.fetch(JOBS_QUEUE, { batchSize: 20 })).toEqual([]);
    } finally {
      await p.close();
    }
  }, 60_000);

  it('wakes an idle feed when a job is queued', async () => {
    const p = await testPlatform('pglite');
    try {
      let got!: (jobId: string) => void;
      const first = new Promise<string>((resolve) => {
        got = resolve;
      });
      const feed = feedJobs<JobMessage>(
        p.queue,
        p.bus,
        { concurrency: 1, pollMs: 600_000 },
        async ({ data: { jobId } }) => got(jobId),
      );
      await new Promise((r) => setTimeout(r, 300)); // its first fetch found nothing: it waits
      await p.queue.send(JOBS_QUEUE, { jobId: 'late' });
      p.bus.emit('pipeline-1', { type: 'status', payload: { jobId: 'late', status: 'queued' } });
      expect(await first).toBe('late');
      await feed.stop();
      await feed.drained();
    } finally {
      await p.close();
    }
  }, 60_000);
});
