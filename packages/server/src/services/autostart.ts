import { ErrorCode, toSluiceError } from '@sluice/core';
import { isNull, sql } from 'drizzle-orm';
import { pipelines, pipelineVersions } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { executePipeline } from './jobs.ts';

/**
 * Starts a job of every live pipeline whose current version says `autostart: true` (a stream from a
 * queue, docs/streaming.md) and that has no job pending, queued or running. Called when a server
 * starts; several servers sharing a database start each stream once (executePipeline refuses a
 * second job of a streaming pipeline). Returns the jobs it started.
 */
export async function autostartStreams(p: Platform): Promise<string[]> {
  const marked = await p.database.db
    .select({ id: pipelines.id, name: pipelines.name })
    .from(pipelines)
    .innerJoin(
      pipelineVersions,
      sql`${pipelineVersions.pipelineId} = ${pipelines.id} AND ${pipelineVersions.version} = ${pipelines.currentVersion}`,
    )
    .where(sql`${isNull(pipelines.deletedAt)} AND (${pipelineVersions.spec}->>'autostart')::boolean IS TRUE`);
  const started: string[] = [];
  for (const m of marked) {
    try {
      started.push(await executePipeline(p, m.id, { triggerType: 'api', triggeredBy: 'autostart' }));
    } catch (err) {
      // Already running (another server started it, or it never stopped): nothing to do.
      if (toSluiceError(err).code === ErrorCode.CONFLICT) continue;
      p.log.error(
        { pipelineId: m.id, err },
        `autostart of pipeline "${m.name}" failed: ${(err as Error).message}`,
      );
    }
  }
  if (started.length > 0) p.log.info({ jobs: started }, `autostarted ${started.length} stream(s)`);
  return started;
}
