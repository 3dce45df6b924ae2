import type { Job } from 'pg-boss';
import type { Platform } from '../platform.ts';
import { inTransaction, type JobMessage, prepareJobQueue, sendJob } from '../queue/boss.ts';
import type { Release } from '../queue/slots.ts';
import { getJob } from '../services/jobs.ts';

/** How long a job that found its pipeline's slots all held waits before it is offered again. */
const BUSY_DELAY_SECONDS = 2;

/** The slot key of a pipeline's `concurrency`; its credential counterpart is in job-runner. */
export const pipelineSlot = (pipelineId: string) => `pipeline:${pipelineId}`;

/**
 * Takes one of the job's pipeline's `concurrency` slots for as long as the job runs here; `free`
 * for a job with no limit. pg-boss already hands out no job of a pipeline whose active jobs reach
 * the limit (its group concurrency, see queue/boss.ts GROUP_LIMITS), but two workers fetching at
 * the same moment both count the jobs active before either claim: the slot is what holds across
 * all workers. `busy` when every slot is held: the caller sends the job back (deferJob).
 */
export async function takeJobSlot(p: Platform, m: JobMessage): Promise<Release | 'free' | 'busy'> {
  if (m.concurrency === null) return 'free';
  if (m.concurrency !== undefined && m.pipelineId !== undefined)
    return (await p.slots.tryTake(pipelineSlot(m.pipelineId), m.concurrency)) ?? 'busy';
  // A message sent before it carried the limit: the row has it.
  const job = await getJob(p, m.jobId).catch(() => undefined);
  // A job that is gone or finished needs no slot: runJob sees it and returns.
  if (!job || job.concurrency === null || !['queued', 'running'].includes(job.status)) return 'free';
  return (await p.slots.tryTake(pipelineSlot(job.pipelineId), job.concurrency)) ?? 'busy';
}

/**
 * Puts a job back in the queue for a moment: its message completed and a new one sent in one
 * transaction, so it is neither lost nor doubled, and no attempt of the job is spent.
 */
export async function deferJob(p: Platform, message: Job<JobMessage>): Promise<void> {
  const job = await getJob(p, message.data.jobId);
  await prepareJobQueue(p.queue, job.runsOn);
  await p.database.db.transaction(async (tx) => {
    await p.queue.complete(message.name, message, null, inTransaction(tx));
    await sendJob(p.queue, job, { tx, startAfterSeconds: BUSY_DELAY_SECONDS });
  });
}
