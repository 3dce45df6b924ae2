import { join } from 'node:path';
import { ErrorCode, emptyStep, type ResolvedFlow, type StepReport, toSluiceError } from '@sluice/core';
import { and, eq } from 'drizzle-orm';
import { type StepPartition, stepExecutions } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import type { JobMessageRef } from '../queue/boss.ts';
import { putArtifact } from '../services/artifacts.ts';
import { getJob, jobPlan } from '../services/jobs.ts';
import {
  claimPartition,
  endPartition,
  handBackPartition,
  savePartitionCheckpoint,
} from '../services/partitions.ts';
import { stepCredentials } from '../services/step-credentials.ts';
import { upstreamReports } from '../services/step-files.ts';
import { type RunnerOptions, Shutdown } from './job-runner.ts';
import { jobStepOptions, stateDirOf, workspaceOf } from './step-options.ts';
import { runStepProcess } from './step-process.ts';
import { stepEvents } from './step-recorder.ts';

const ENDED = new Set(['success', 'failed', 'cancelled', 'timeout']);

/** Where a part keeps its checkpoints and quarantine: its own folder in the job's workspace. */
export const partitionDir = (p: Platform, jobId: string, stepId: string, index: number) =>
  join(workspaceOf(p, jobId), 'partitions', stepId, String(index));

/** The name of a part's quarantine among the job's artifacts: `<step>.partition-<n>.quarantine.ndjson`. */
export const partQuarantineSuffix = (index: number) => `partition-${index + 1}.quarantine.ndjson`;

/**
 * Runs one part of a partitioned step, taken from the partitions queue: the step's flow in a step
 * process with `part` set and checkpoints of its own (a part taken over from a lost worker
 * resumes from them), then its report on its row and its quarantine among the job's artifacts.
 * Answers `settled`: the part's end completed its message.
 */
export async function runPartition(
  p: Platform,
  partitionId: string,
  message: JobMessageRef,
  o: RunnerOptions,
  cancel: AbortSignal,
): Promise<'settled' | undefined> {
  const claimed = await claimPartition(p, partitionId, o.workerId);
  if (!claimed) return undefined;
  const { partition } = claimed;
  const job = await getJob(p, partition.jobId);
  const where = { id: job.id, pipelineId: job.pipelineId };
  const end = (report: StepReport) =>
    endPartition(p, where, partition, report, message).then(() => 'settled' as const);
  if (claimed.job.cancelRequested || ENDED.has(job.status))
    return end(stopped(partition, 'cancelled', ErrorCode.ABORTED, 'the job was cancelled'));
  let report: StepReport;
  try {
    const plan = await jobPlan(p, job);
    const step = plan.steps.find((s) => s.id === partition.stepId);
    if (step?.kind !== 'flow') throw new Error(`job ${job.id} has no flow step "${partition.stepId}"`);
    const dir = partitionDir(p, job.id, step.id, partition.index);
    const events = stepEvents(p, job.pipelineId, job.id, step.id, {
      id: partition.id,
      index: partition.index,
    });
    report = await runStepProcess({
      ...(await jobStepOptions(p, job, plan, o, cancel)),
      secrets: await stepCredentials(p, step, { workerId: o.workerId, jobId: job.id }),
      stepId: step.id,
      workDir: join(dir, 'work'),
      stateDir: dir,
      upstream: await upstreamOf(p, job, step),
      resume: partition.attempt > 1,
      partition: { index: partition.index, part: partition.part as never },
      // Its checkpoints are kept in the database: a worker that takes the part over, on any
      // machine, resumes from them (this worker's disk may be gone with it).
      mirror:
        partition.checkpoint === null
          ? {}
          : {
              file: partition.checkpoint as never,
              quarantine: partition.quarantine ? Buffer.from(partition.quarantine).toString('utf8') : '',
            },
      onCheckpoint: (file, quarantine) => savePartitionCheckpoint(p, partition.id, file, quarantine),
      onEvent: events.onEvent,
    });
    await events.settled();
    report = { ...report, kind: 'flow' };
  } catch (err) {
    const e = toSluiceError(err);
    report = stopped(partition, 'failed', e.code, `partition ${partition.index + 1}: ${e.message}`);
  }
  if (cancel.reason instanceof Shutdown) {
    await handBackPartition(p, where, partition, message);
    return 'settled';
  }
  // The part's quarantine lies on this worker: kept with the job, where every worker finds it.
  if (report.rowsQuarantined > 0) {
    const path = join(partitionDir(p, job.id, partition.stepId, partition.index), 'quarantine.ndjson');
    const name = `${partition.stepId}.${partQuarantineSuffix(partition.index)}`;
    await putArtifact(
      p,
      {
        jobId: job.id,
        stepId: partition.stepId,
        name,
        kind: 'quarantine',
        contentType: 'application/x-ndjson',
      },
      { path },
    ).catch(() => undefined); // a part that failed before it opened its quarantine has none
  }
  return end(report);
}

function stopped(
  partition: StepPartition,
  status: 'failed' | 'cancelled',
  code: string,
  message: string,
): StepReport {
  return {
    ...emptyStep({ id: partition.stepId, kind: 'flow' }, status),
    attempts: 1,
    error: { code, message, step: partition.stepId },
  };
}

/** What `${steps.<id>.…}` in the step's config reads: the job's steps that succeeded before it. */
async function upstreamOf(p: Platform, job: { id: string; pipelineId: string }, step: ResolvedFlow) {
  if (step.needs.length === 0) return {};
  const rows = await p.database.db
    .select({ stepId: stepExecutions.stepId, report: stepExecutions.report })
    .from(stepExecutions)
    .where(and(eq(stepExecutions.jobId, job.id), eq(stepExecutions.status, 'success')));
  const finished = new Map(
    rows.flatMap((r) => (r.report ? [[r.stepId, r.report as StepReport] as const] : [])),
  );
  return upstreamReports(p, job.id, finished, (id) => stateDirOf(p, job, id), new Set());
}
