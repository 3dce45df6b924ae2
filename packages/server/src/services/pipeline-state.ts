import { ErrorCode, normalizeSpec, SluiceError, type StepState } from '@sluice/core';
import { and, asc, eq } from 'drizzle-orm';
import { pipelineState } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { getPipeline } from './pipelines.ts';

export interface StepStateView {
  stepId: string;
  state: StepState;
  jobId: string | null;
  updatedAt: string;
}

type Db = Pick<Platform['database']['db'], 'select' | 'insert' | 'delete'>;

/** The states a job's steps start from, by step id: a step that has none yet is absent. */
export async function loadStepStates(db: Db, pipelineId: string): Promise<Map<string, StepState>> {
  const rows = await db
    .select({ stepId: pipelineState.stepId, state: pipelineState.state })
    .from(pipelineState)
    .where(eq(pipelineState.pipelineId, pipelineId));
  return new Map(rows.map((r) => [r.stepId, r.state as StepState]));
}

/** Called by the worker once the step succeeded, before its success is recorded. */
export async function saveStepState(
  db: Db,
  key: { pipelineId: string; stepId: string; jobId: string },
  state: StepState,
): Promise<void> {
  await db
    .insert(pipelineState)
    .values({ ...key, state, updatedAt: new Date() })
    .onConflictDoUpdate({
      target: [pipelineState.pipelineId, pipelineState.stepId],
      set: { state, jobId: key.jobId, updatedAt: new Date() },
    });
}

/** Every step's state of a live pipeline (404 for an unknown or deleted one). */
export async function listPipelineState(
  p: Platform,
  pipelineId: string,
): Promise<{ items: StepStateView[] }> {
  await getPipeline(p, pipelineId);
  const rows = await p.database.db
    .select()
    .from(pipelineState)
    .where(eq(pipelineState.pipelineId, pipelineId))
    .orderBy(asc(pipelineState.stepId));
  return {
    items: rows.map((r) => ({
      stepId: r.stepId,
      state: r.state as StepState,
      jobId: r.jobId,
      updatedAt: r.updatedAt.toISOString(),
    })),
  };
}

/** Deletes one step's state, or every step's: their next job reads from the beginning. */
export async function resetPipelineState(
  p: Platform,
  pipelineId: string,
  stepId?: string,
): Promise<{ reset: string[] }> {
  const pipeline = await getPipeline(p, pipelineId);
  if (stepId !== undefined) {
    // A step that has no state yet is fine (nothing to reset); one the pipeline does not have is a typo.
    const steps = normalizeSpec(pipeline.spec).steps?.map((s) => s.id) ?? [];
    if (!steps.includes(stepId))
      throw new SluiceError(
        ErrorCode.NOT_FOUND,
        `pipeline ${pipeline.name} has no step "${stepId}" (its steps: ${steps.join(', ')})`,
      );
  }
  const gone = await p.database.db
    .delete(pipelineState)
    .where(
      and(
        eq(pipelineState.pipelineId, pipelineId),
        stepId === undefined ? undefined : eq(pipelineState.stepId, stepId),
      ),
    )
    .returning({ stepId: pipelineState.stepId });
  return { reset: gone.map((g) => g.stepId).sort() };
}
