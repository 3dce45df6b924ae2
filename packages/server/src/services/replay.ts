import { randomBytes } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { conflict } from '../api/errors.ts';
import { jobExecutions, stepExecutions, type TriggerType } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { enqueueInTransaction, prepareJobQueue } from '../queue/boss.ts';
import { jobRouting } from './job-routing.ts';
import { FINISHED, getJob, jobSteps, sealPlan } from './jobs.ts';
import { getSpec, livePipeline, planStored } from './pipelines.ts';

/**
 * Enqueues a quarantine replay of a finished job: a new job, `replayOf` the job whose workspace
 * holds the quarantine (the original job, when `id` is itself a replay), on the pipeline's
 * current version, with a step for each flow step that succeeded with quarantined rows and is
 * still in the pipeline. The worker replays each step's open quarantine into the same sinks (see
 * core's replayQuarantine). Refused (409) while the job has not finished, when it has no such
 * step, and while another replay of the same job is queued or running: two would share its files.
 */
export async function replayJobQuarantine(
  p: Platform,
  id: string,
  input: { triggerType: TriggerType; triggeredBy: string | null },
): Promise<string> {
  const job = await getJob(p, id);
  const origin = job.replayOf ? await getJob(p, job.replayOf) : job;
  if (!FINISHED.includes(origin.status)) {
    throw conflict(
      `job ${origin.id} is ${origin.status}; its quarantine can be replayed once it has finished`,
    );
  }
  const pipeline = await livePipeline(p, origin.pipelineId);
  const spec = await getSpec(p, origin.pipelineId, pipeline.currentVersion);
  const plan = planStored(p, spec, origin.parameters as Record<string, unknown>);
  const flows = new Set(plan.steps.filter((s) => s.kind === 'flow').map((s) => s.id));
  const quarantined = (await jobSteps(p, origin.id)).filter(
    (s) => s.kind === 'flow' && s.status === 'success' && s.rowsQuarantined > 0,
  );
  const steps = quarantined.filter((s) => flows.has(s.stepId)).map((s) => s.stepId);
  if (steps.length === 0) {
    throw conflict(
      quarantined.length === 0
        ? `job ${origin.id} has no quarantined rows in a step that succeeded: nothing to replay`
        : `the pipeline's current version has none of the steps that quarantined rows in job ${origin.id} ` +
            `(${quarantined.map((s) => s.stepId).join(', ')})`,
    );
  }
  const sealed = await sealPlan(p, plan);
  const routing = jobRouting(
    spec,
    plan.steps.filter((s) => steps.includes(s.id)),
  );
  await prepareJobQueue(p.queue, routing.runsOn);
  const jobId = await p.database.db.transaction(async (tx) => {
    const [busy] = await tx
      .select({ id: jobExecutions.id })
      .from(jobExecutions)
      .where(
        and(
          eq(jobExecutions.replayOf, origin.id),
          inArray(jobExecutions.status, ['pending', 'queued', 'running']),
        ),
      );
    if (busy) throw conflict(`job ${busy.id} is replaying the quarantine of job ${origin.id} already`);
    const [created] = await tx
      .insert(jobExecutions)
      .values({
        pipelineId: origin.pipelineId,
        pipelineVersion: pipeline.currentVersion,
        status: 'queued',
        triggerType: input.triggerType,
        triggeredBy: input.triggeredBy,
        parameters: origin.parameters,
        // The worker runs the steps it has rows for, by this plan (see job-runner).
        plan: sealed,
        queuedAt: new Date(),
        maxAttempts: p.jobAttempts,
        replayOf: origin.id,
        traceId: randomBytes(16).toString('hex'),
        ...routing,
      })
      .returning();
    // No needs: a replay's steps are independent, each with its own quarantine and sinks.
    await tx
      .insert(stepExecutions)
      .values(steps.map((s) => ({ jobId: created!.id, stepId: s, kind: 'flow' as const })));
    await enqueueInTransaction(p.queue, tx, created!);
    return created!.id;
  });
  p.bus.emit(origin.pipelineId, { type: 'status', payload: { jobId, status: 'queued' } });
  return jobId;
}
