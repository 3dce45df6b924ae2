import { pathToFileURL } from 'node:url';
import { createRegistry } from '@sluice/connectors';
import {
  type CheckpointMirror,
  type ConnectorDefinition,
  ErrorCode,
  exportCircuits,
  FatalError,
  importCircuits,
  type Registry,
  type RunEvent,
  type StepResources,
  toSluiceError,
} from '@sluice/core';
import { takeSpawned, watchSpawns } from './spawn-watch.ts';
import { STEP_MARK_VAR } from './step-kill.ts';
import { collectBetweenSteps, startPeakWindow } from './step-memory.ts';
import type { ChildMessage, ParentMessage, RunMessage } from './step-messages.ts';
import { redactor } from './step-redact.ts';
import { runStepHere } from './step-run.ts';

watchSpawns();

// The entry of a step process: runs steps of one pipeline with the engine, one at a time, and
// reports each over IPC. Isolation (memory limit, kill on cancel, which steps may share this
// process) is the parent's; this only runs and reports, and resets what a step may have changed
// (environment, working directory) before the next.
/** Sends with a run's own redactor: work a step left behind is masked with its own secrets. */
const sender =
  (redact: (m: ChildMessage) => ChildMessage) =>
  (m: ChildMessage): Promise<void> =>
    new Promise((resolve) => {
      if (!process.send) return resolve();
      process.send(redact(m), undefined, undefined, () => resolve());
    });

let current: { runId: number; abort: AbortController } | undefined;
// Checkpoints sent to the worker to keep, by sequence number, until it says they are stored.
const unsaved = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
// Free for the next run before the result goes out: the parent sends the next one once it has it.
const release = (runId: number) => {
  if (current?.runId === runId) current = undefined;
};
const registries = new Map<string, Promise<Registry>>();

async function loadRegistry(modules: string[]): Promise<Registry> {
  const registry = createRegistry();
  for (const m of modules) {
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

// Modules load once per process: a second step with the same list reuses the registry.
function registryWith(modules: string[] = []): Promise<Registry> {
  const key = modules.join('\0');
  let r = registries.get(key);
  if (!r) {
    r = loadRegistry(modules);
    r.catch(() => registries.delete(key));
    registries.set(key, r);
  }
  return r;
}

/** The step sees exactly the environment it was given (plus the mark), whatever the last one set. */
function resetEnvironment(env: Record<string, string>): void {
  const mark = process.env[STEP_MARK_VAR];
  for (const k of Object.keys(process.env)) if (!Object.hasOwn(env, k)) delete process.env[k];
  Object.assign(process.env, env);
  if (mark !== undefined) process.env[STEP_MARK_VAR] = mark;
}

let cpuBefore = process.cpuUsage();

async function run(m: RunMessage, abort: AbortController): Promise<void> {
  const redact = redactor(m.secrets, m.aliases);
  const send = sender(redact);
  const { runId } = m;
  const sendCircuits = () => send({ type: 'circuits', runId, circuits: exportCircuits() });
  const peak = startPeakWindow();
  try {
    importCircuits(m.circuits ?? {});
    resetEnvironment(m.env ?? {});
    process.chdir(m.workDir);
    const mirror: CheckpointMirror | undefined = m.mirror && {
      initial:
        m.mirror.file === undefined
          ? undefined
          : { file: m.mirror.file, quarantine: m.mirror.quarantine ?? '' },
      save: (file, quarantine) =>
        new Promise<void>((resolve, reject) => {
          const seq = (file as { current: { seq: number } }).current.seq;
          unsaved.set(seq, { resolve, reject });
          void send({ type: 'checkpoint', runId, seq, file, quarantine });
        }),
    };
    const {
      report: step,
      state: saved,
      parts,
    } = await runStepHere(
      m,
      await registryWith(m.modules),
      abort.signal,
      (event: RunEvent) => void send({ type: 'event', runId, event }),
      redact,
      mirror,
    );
    const cpu = process.cpuUsage(cpuBefore);
    const resources: StepResources = {
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      ...peak.end(),
    };
    await sendCircuits();
    release(runId);
    await send({
      type: 'result',
      runId,
      report: { ...step, resources },
      ...(saved === undefined ? {} : { state: saved }),
      ...(parts === undefined ? {} : { parts }),
      spawned: takeSpawned(),
      rssBytes: process.memoryUsage.rss(),
    });
  } catch (err) {
    const e = toSluiceError(err);
    await sendCircuits();
    release(runId);
    await send({
      type: 'error',
      runId,
      spawned: takeSpawned(),
      rssBytes: process.memoryUsage.rss(),
      error: {
        code: e.code,
        message: e.message,
        step: m.stepId,
        ...(e.issues.length ? { issues: e.issues } : {}),
      },
    });
  } finally {
    // After the result went out (the parent is not kept waiting), before the next step arrives.
    collectBetweenSteps();
    cpuBefore = process.cpuUsage();
  }
}

process.on('message', (m: ParentMessage) => {
  if (m.type === 'run' && !current) {
    const run_ = { runId: m.runId, abort: new AbortController() };
    current = run_;
    void run(m, run_.abort).finally(() => release(run_.runId));
  } else if (m.type === 'cancel' && current?.runId === m.runId) {
    current.abort.abort(new Error('cancelled'));
  } else if (m.type === 'checkpoint-saved' && current?.runId === m.runId) {
    const waiting = unsaved.get(m.seq);
    unsaved.delete(m.seq);
    if (m.error) waiting?.reject(new Error(`the worker could not keep checkpoint ${m.seq}: ${m.error}`));
    else waiting?.resolve();
  }
});
// The parent gone means no one can receive the result: stop rather than run on as an orphan.
process.on('disconnect', () => {
  current?.abort.abort(new Error('the worker went away'));
  setTimeout(() => process.exit(1), current ? 5000 : 0).unref();
});
