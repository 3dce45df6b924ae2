import { join } from 'node:path';

/** The options of a step run in `workDir`, as the worker would send them (no pool, nothing heard). */
export function stepRun(workDir: string, spec: unknown, stepId: string) {
  return {
    spec,
    stepId,
    jobId: 'job-1',
    params: {},
    workDir,
    stateDir: join(workDir, '.state'),
    resume: false,
    env: { PATH: process.env.PATH ?? '' },
    signal: new AbortController().signal,
    onEvent: () => {},
  };
}
