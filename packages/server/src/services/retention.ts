import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { and, inArray, isNotNull, lt } from 'drizzle-orm';
import { jobExecutions } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { audit } from './audit.ts';

const FINISHED = ['success', 'failed', 'cancelled', 'timeout'] as const;
/** Jobs removed per transaction: a big backlog is cleared in steps, never one huge delete. */
const BATCH = 500;

export interface RetentionResult {
  jobs: number;
  cutoff: string;
}

/**
 * Deletes finished jobs that completed more than `days` ago, with everything that belongs to them:
 * step rows and artifact index (by cascade), the log, reports and quarantine files in the store,
 * and the job's workspace (checkpoints, step working directories). Jobs still queued or running
 * are kept whatever their age; a dead-lettered job is failed and goes with the others.
 */
export async function applyRetention(p: Platform, days: number, now = new Date()): Promise<RetentionResult> {
  const cutoff = new Date(now.getTime() - days * 86_400_000);
  let total = 0;
  for (;;) {
    const old = await p.database.db
      .select({ id: jobExecutions.id })
      .from(jobExecutions)
      .where(
        and(
          inArray(jobExecutions.status, [...FINISHED]),
          isNotNull(jobExecutions.completedAt),
          lt(jobExecutions.completedAt, cutoff),
        ),
      )
      .limit(BATCH);
    if (old.length === 0) break;
    const ids = old.map((o) => o.id);
    // Files first: a crash between leaves rows pointing at nothing, which the next pass removes,
    // never files no row points at.
    for (const id of ids) {
      await p.store.remove(`jobs/${id}/`);
      await rm(join(p.dataDir, 'work', id), { recursive: true, force: true });
    }
    await p.database.db.delete(jobExecutions).where(inArray(jobExecutions.id, ids));
    total += ids.length;
    if (old.length < BATCH) break;
  }
  await audit(
    p.database.db,
    { userId: null, username: 'sluice retention' },
    {
      action: 'maintenance.retention',
      resourceType: 'job',
      newValue: { days, cutoff: cutoff.toISOString(), jobsDeleted: total },
    },
  );
  return { jobs: total, cutoff: cutoff.toISOString() };
}
