import { and, count, eq, gte, inArray } from 'drizzle-orm';
import { type JobExecution, jobExecutions, workers } from '../db/schema.ts';
import type { Platform } from '../platform.ts';

// A worker beats every 10 s (worker/worker.ts): one silent three times as long is gone.
const WORKER_GONE_MS = 30_000;

/**
 * Why each queued job of `jobs` has not started, when the platform can tell: no live worker has
 * the tags its steps need, or its pipeline's `concurrency` is reached. Jobs that simply wait for a
 * free worker have no entry.
 */
export async function waitingReasons(
  p: Platform,
  jobs: readonly JobExecution[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const queued = jobs.filter((j) => j.status === 'queued');
  if (queued.length === 0) return out;
  const db = p.database.db;
  const live = queued.some((j) => j.runsOn.length > 0)
    ? await db
        .select({ tags: workers.tags })
        .from(workers)
        .where(gte(workers.lastSeenAt, new Date(Date.now() - WORKER_GONE_MS)))
    : [];
  const limited = [...new Set(queued.filter((j) => j.concurrency !== null).map((j) => j.pipelineId))];
  const running = new Map(
    limited.length === 0
      ? []
      : (
          await db
            .select({ pipelineId: jobExecutions.pipelineId, n: count() })
            .from(jobExecutions)
            .where(and(eq(jobExecutions.status, 'running'), inArray(jobExecutions.pipelineId, limited)))
            .groupBy(jobExecutions.pipelineId)
        ).map((r) => [r.pipelineId, r.n]),
  );
  for (const j of queued) {
    if (j.runsOn.length > 0 && !live.some((w) => j.runsOn.every((t) => w.tags.includes(t)))) {
      out.set(j.id, `a worker with tags [${j.runsOn.join(', ')}]`);
      continue;
    }
    const n = running.get(j.pipelineId) ?? 0;
    if (j.concurrency !== null && n >= j.concurrency)
      out.set(
        j.id,
        `a slot: ${n} of ${j.concurrency} jobs of this pipeline running (concurrency ${j.concurrency})`,
      );
  }
  return out;
}
