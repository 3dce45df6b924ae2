import { mkdir } from 'node:fs/promises';
import { emptyStep, type Registry, type ResolvedStep, type StepReport, toSluiceError } from '@sluice/core';
import type { StepProcessOptions } from './step-process.ts';
import { redactor } from './step-redact.ts';
import { runStepHere } from './step-run.ts';

/**
 * Whether the worker runs `step` itself: its pipeline says `isolation: none` and it is a task whose
 * connector allows it (TaskDefinition.inWorker). Everything else runs in a step process.
 */
export function runsInWorker(registry: Registry, isolation: 'none' | undefined, step: ResolvedStep): boolean {
  if (isolation !== 'none' || step.kind !== 'task') return false;
  try {
    return registry.get('task', step.task.connector).inWorker === true;
  } catch {
    return false; // a plugin's task, registered in step processes only
  }
}

/**
 * Runs a step in the worker's own process and resolves with its report, as runStepProcess does in
 * a step process. What this gives up: the step shares the worker's heap (no memory limit of its
 * own), a cancel reaches it only through its AbortSignal (no process to kill), and a crash in it is
 * the worker's. Its events and report are masked with its secrets as a step process's are.
 */
export async function runStepInline(
  opts: Omit<StepProcessOptions, 'pool' | 'memoryMb' | 'killGraceMs' | 'modules'>,
  registry: Registry,
): Promise<StepReport> {
  const { timeoutMs: _timeout, signal, onEvent, onState, onSpawn, env: _env, ...message } = opts;
  const redact = redactor(message.secrets, message.aliases);
  await mkdir(message.workDir, { recursive: true });
  await onSpawn?.(process.pid);
  try {
    const run = await runStepHere(message, registry, signal, (e) => onEvent(redact(e)), redact);
    if (run.state !== undefined) onState?.(run.state);
    return redact(run.report);
  } catch (err) {
    const e = toSluiceError(err);
    return redact({
      ...emptyStep({ id: message.stepId, kind: 'task' }, 'failed'),
      attempts: 1,
      error: { code: e.code, message: e.message, step: message.stepId },
    });
  }
}
