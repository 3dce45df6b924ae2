import { join } from 'node:path';
import { createRegistry } from '@sluice/connectors';
import { type ConnectorDefinition, resolvePlan } from '@sluice/core';

// The worker plans with its platform's registry; the fixtures' connectors are in the step
// process's only through `modules`, so the tests plan with both, as a platform that has them would.
// The fixtures are plain JavaScript, as a plugin may be: step processes load them as they are.
const fixtures = await Promise.all(
  ['ballast', 'counter', 'hog', 'misbehaving'].map(
    (n) =>
      import(join(import.meta.dirname, '..', 'fixtures', `${n}.mjs`)) as Promise<Record<string, unknown>>,
  ),
);
const registry = createRegistry().register(
  ...fixtures.flatMap((m) => Object.values(m) as ConnectorDefinition[]),
);

/** A spec planned as the platform plans a job's (no secrets, parameters' defaults). */
export function planOf(spec: unknown) {
  return resolvePlan(spec, { registry, params: {}, env: {} });
}

/** The options of a step run in `workDir`, as the worker would send them (no pool, nothing heard). */
export function stepRun(workDir: string, spec: unknown, stepId: string) {
  return {
    plan: planOf(spec),
    stepId,
    jobId: 'job-1',
    workDir,
    stateDir: join(workDir, '.state'),
    resume: false,
    env: { PATH: process.env.PATH ?? '' },
    signal: new AbortController().signal,
    onEvent: () => {},
  };
}
