import { pathToFileURL } from 'node:url';
import { builtinConnectors } from '@sluice/connectors';
import {
  type ConnectorDefinition,
  ErrorCode,
  FatalError,
  Registry,
  runPipeline,
  type StepResources,
  toSluiceError,
} from '@sluice/core';
import type { ChildMessage, ParentMessage, RunMessage } from './step-messages.ts';
import { redactor } from './step-redact.ts';

// The entry of a step's own process: runs one step of a pipeline with the engine and reports
// over IPC. Isolation (memory limit, kill on cancel) is the parent's; this only runs and reports.
let redact = redactor(undefined);
const send = (m: ChildMessage): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(redact(m), undefined, undefined, () => resolve());
  });

const abort = new AbortController();

async function registryWith(modules: string[] | undefined): Promise<Registry> {
  const registry = new Registry().register(...builtinConnectors);
  for (const m of modules ?? []) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(m.startsWith('file:') ? m : pathToFileURL(m).href)) as Record<string, unknown>;
    } catch (err) {
      throw new FatalError(
        `cannot load connector module ${m}: ${(err as Error).message}; check the path in the worker's "modules" option`,
        { code: ErrorCode.NOT_FOUND, cause: err },
      );
    }
    const defs = Object.values(mod).filter(
      (v): v is ConnectorDefinition => typeof v === 'object' && v !== null && 'kind' in v && 'name' in v,
    );
    registry.register(...defs);
  }
  return registry;
}

async function run(m: RunMessage): Promise<void> {
  redact = redactor(m.secrets);
  try {
    const report = await runPipeline(m.spec, {
      registry: await registryWith(m.modules),
      steps: [m.stepId],
      runKey: m.jobId,
      baseDir: m.baseDir ?? m.workDir,
      stateDir: m.stateDir,
      resume: m.resume,
      params: m.params,
      env: m.env ?? {},
      credentials: (m.secrets ?? {}) as Record<string, Record<string, unknown>>,
      redact,
      signal: abort.signal,
      ...(m.maxQuarantine === undefined ? {} : { maxQuarantine: m.maxQuarantine }),
      onEvent: (event) => void send({ type: 'event', event }),
    });
    const cpu = process.cpuUsage();
    const resources: StepResources = {
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      // maxRSS is in kilobytes: the process's peak, not its size now.
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
    await send({ type: 'result', report: { ...report.steps[0]!, resources } });
    process.exit(0);
  } catch (err) {
    const e = toSluiceError(err);
    await send({
      type: 'error',
      error: {
        code: e.code,
        message: e.message,
        step: m.stepId,
        ...(e.issues.length ? { issues: e.issues } : {}),
      },
    });
    process.exit(1);
  }
}

let started = false;
process.on('message', (m: ParentMessage) => {
  if (m.type === 'run' && !started) {
    started = true;
    void run(m);
  } else if (m.type === 'cancel') abort.abort(new Error('cancelled'));
});
// The parent gone means no one can receive the result: stop rather than run on as an orphan.
process.on('disconnect', () => {
  abort.abort(new Error('the worker went away'));
  setTimeout(() => process.exit(1), 5000).unref();
});
