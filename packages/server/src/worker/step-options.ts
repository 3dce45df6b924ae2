import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { PathPolicy, ResolvedPlan } from '@sluice/core';
import type { Platform } from '../platform.ts';
import { datasetsDirOf } from '../services/datasets.ts';
import { jobUrl } from '../services/job-summary.ts';
import { stepFilesDir } from '../services/step-files.ts';
import type { RunnerOptions } from './job-runner.ts';
import { stepEnv } from './step-entry.ts';
import type { StepProcessOptions } from './step-process.ts';
import type { PathAlias } from './step-redact.ts';

/** The job a step (or a partition of one) runs for. */
export interface JobPlace {
  id: string;
  pipelineId: string;
  /** A quarantine replay runs in the replayed job's workspace. */
  replayOf?: string | null;
}

/** Where a job keeps the files of its run: one folder per job under the data directory. */
export const workspaceOf = (p: Platform, jobId: string) => join(p.dataDir, 'work', jobId);

/** A step's state directory: its checkpoints and quarantine (core's run.ts lays it out). */
export const stateDirOf = (p: Platform, job: JobPlace, stepId: string) =>
  join(workspaceOf(p, job.replayOf ?? job.id), 'state', stepId);

/**
 * What every step of the job is run with, whichever process runs it: the plan, the path and
 * network policies, the job's dataset area, the worker's limits. The job's handed-on files lie in
 * its workspace under the data directory, which steps may not open; the folders of it they may are
 * granted (the policy compares paths with symlinks resolved).
 */
export async function jobStepOptions(
  p: Platform,
  job: JobPlace,
  plan: ResolvedPlan,
  o: RunnerOptions,
  signal: AbortSignal,
): Promise<
  Pick<
    StepProcessOptions,
    | 'plan'
    | 'jobId'
    | 'baseDir'
    | 'paths'
    | 'network'
    | 'run'
    | 'datasetsDir'
    | 'env'
    | 'aliases'
    | 'memoryMb'
    | 'killGraceMs'
    | 'modules'
    | 'pool'
    | 'signal'
  >
> {
  const home = job.replayOf ?? job.id;
  const realData = await realpath(p.dataDir).catch(() => p.dataDir);
  const paths: PathPolicy = {
    ...p.paths,
    granted: plan.steps.map((s) => stepFilesDir(join(realData, 'work', home, 'state', s.id), s.id)),
  };
  return {
    plan,
    jobId: home,
    baseDir: p.filesDir,
    paths,
    network: p.network,
    run: { id: job.id, url: jobUrl(p, job.id) ?? '' },
    datasetsDir: datasetsDirOf(p, home),
    env: stepEnv(),
    aliases: aliases(p, workspaceOf(p, job.id)),
    memoryMb: o.stepMemoryMb,
    ...(o.killGraceMs === undefined ? {} : { killGraceMs: o.killGraceMs }),
    ...(o.modules ? { modules: o.modules } : {}),
    ...(o.hosts ? { pool: { hosts: o.hosts, key: job.pipelineId } } : {}),
    signal,
  };
}

/**
 * The server's directories as a step's messages show them. Paths a step was refused are shown with
 * their symlinks resolved, so the directories' resolved names are aliased too.
 */
function aliases(p: Platform, workspace: string): PathAlias[] {
  const [files] = p.paths.roots;
  const [data] = p.paths.denied ?? [];
  return [
    { path: p.filesDir, as: '' },
    ...(files && files !== p.filesDir ? [{ path: files, as: '' }] : []),
    { path: workspace, as: '<job workspace>' },
    { path: p.dataDir, as: '<data dir>' },
    ...(data && data !== p.dataDir ? [{ path: data, as: '<data dir>' }] : []),
  ];
}
