import type { Platform } from '../platform.ts';
import type { Tx } from '../queue/boss.ts';
import { enqueueDependents, workDependents } from './dependents.ts';
import { enqueueDeliveries, workDeliveries } from './hook-deliveries.ts';
import type { JobEnd } from './job-status.ts';

/**
 * What follows a job's end, queued in the transaction that records the end (so a crash between
 * the two loses nothing): its outbound webhooks, and on success the pipelines that run after it.
 * Every place a job reaches a terminal status calls this: the worker's finishJob, cancelling a
 * queued job, and the dead-letter queue's handler.
 */
export async function afterJobEnded(
  p: Platform,
  tx: Tx,
  job: { id: string; pipelineId: string; replayOf?: string | null },
  outcome: JobEnd,
): Promise<void> {
  await enqueueDeliveries(p, tx, job, outcome);
  // A quarantine replay re-loads rejected rows of a job that ran its dependents already.
  if (outcome === 'success' && !job.replayOf) await enqueueDependents(p, tx, job);
}

/** A worker's consumers of the webhook and dependents queues; the answer stops them. */
export async function workAfterJobs(p: Platform): Promise<() => Promise<void>> {
  const stops = [await workDeliveries(p), await workDependents(p)];
  return async () => {
    await Promise.allSettled(stops.map((s) => s()));
  };
}
