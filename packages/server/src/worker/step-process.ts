import { mkdir } from 'node:fs/promises';
import {
  ErrorCode,
  type ErrorReport,
  emptyStep,
  type Json,
  type RunEvent,
  type StepReport,
  type StepState,
  type StepStatus,
} from '@sluice/core';
import { circuitsForStep, recordCircuits } from './circuit-book.ts';
import { stepEnv } from './step-entry.ts';
import { type Exit, StepHost, type StepHostPool } from './step-hosts.ts';
import { killStepLeftovers, type PidMark, pidMark } from './step-kill.ts';
import type { ChildMessage, RunMessage } from './step-messages.ts';
import { redactor } from './step-redact.ts';

export interface StepProcessOptions extends Omit<RunMessage, 'type' | 'runId'> {
  /** Heap limit of the step's process. @defaultValue 1024 */
  memoryMb?: number;
  timeoutMs?: number;
  signal: AbortSignal;
  onEvent(event: RunEvent): void;
  /** How long a cancelled step may take to stop cleanly before its process group is killed. @defaultValue 5000 */
  killGraceMs?: number;
  /** The state the step saved when it succeeded: the caller keeps it for the pipeline's next job. */
  onState?(state: StepState): void;
  /** The parts a partition plan (`partition: { plan }`) cut the step's input into. */
  onParts?(parts: Json[]): void;
  /** Stores a checkpoint of the flow (with `mirror`); the step goes on once it resolves. */
  onCheckpoint?(file: Json, quarantine: { from: number; text: string }): Promise<void>;
  /** The step's process is ready; the step is sent to it once this resolves. */
  onSpawn?(pid: number): void | Promise<void>;
  /**
   * Processes kept between steps, and the key (the pipeline) whose steps may share one. Without a
   * pool, the step gets a fresh process that ends with it.
   */
  pool?: { hosts: StepHostPool; key: string };
}

/**
 * Runs one step in a step process (its own process group, so a cancel or timeout kills the
 * step's children too) and resolves with its report. Failures of the process itself — out of
 * memory, killed, crashed — become a failed report that says what happened.
 */
export async function runStepProcess(opts: StepProcessOptions): Promise<StepReport> {
  const {
    memoryMb = 1024,
    timeoutMs,
    signal,
    onEvent,
    onState,
    onParts,
    onCheckpoint,
    killGraceMs = 5000,
    onSpawn,
    pool,
    ...message
  } = opts;
  await mkdir(message.workDir, { recursive: true });
  const env = message.env ?? stepEnv();
  const host = pool ? pool.hosts.take(pool.key, memoryMb, env) : new StepHost('', memoryMb, env);
  const runId = ++host.steps;
  host.stderr.reset();
  const { child } = host;
  // The kind is the caller's to know (job-runner sets it from the plan); a report's own wins.
  const base = { ...emptyStep({ id: message.stepId, kind: 'task' }, 'failed'), attempts: 1 };

  let result: StepReport | undefined;
  let failure: ErrorReport | undefined;
  let spawned = true;
  let rssBytes = 0;
  let sent = false;
  let stopping: { status: StepStatus; error: ErrorReport } | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const stop = (status: StepStatus, error: ErrorReport) => {
    if (stopping) return;
    stopping = { status, error };
    // Not sent yet: it never will be. Sent: the step is asked to stop, then killed.
    if (!sent) return settle();
    if (child.connected) child.send({ type: 'cancel', runId }, () => undefined);
    killTimer = setTimeout(() => host.kill(), killGraceMs);
  };
  const onAbort = () =>
    stop('cancelled', { code: ErrorCode.ABORTED, message: 'the job was cancelled', step: message.stepId });
  signal.addEventListener('abort', onAbort, { once: true });
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            stop('failed', {
              code: ErrorCode.TIMEOUT,
              message: `step "${message.stepId}" timed out after ${timeoutMs} ms`,
              step: message.stepId,
            }),
          timeoutMs,
        );
  if (signal.aborted) onAbort();

  // Only this run's messages: what an earlier step left behind may still be talking.
  const onMessage = (m: ChildMessage) => {
    if (m.runId !== runId) return;
    if (m.type === 'event') return onEvent(m.event);
    if (m.type === 'circuits') return recordCircuits(m.circuits);
    if (m.type === 'checkpoint') {
      const saved = (error?: string) =>
        child.connected &&
        child.send(
          { type: 'checkpoint-saved', runId, seq: m.seq, ...(error ? { error } : {}) },
          () => undefined,
        );
      void Promise.resolve(onCheckpoint?.(m.file, m.quarantine)).then(
        () => saved(),
        (err: Error) => saved(err.message),
      );
      return;
    }
    if (m.type === 'result') {
      result = m.report;
      if (m.state !== undefined) onState?.(m.state);
      if (m.parts !== undefined) onParts?.(m.parts);
    } else failure = m.error;
    spawned = m.spawned;
    rssBytes = m.rssBytes;
    settle();
  };
  child.on('message', onMessage);
  let ended: Exit | undefined;
  let pids: PidMark | undefined;
  try {
    const notStarted = await host.started;
    if (notStarted === undefined && !stopping && child.pid !== undefined) await onSpawn?.(child.pid);
    if (notStarted === undefined && !stopping) {
      pids = pidMark();
      sent = true;
      child.send({ type: 'run', runId, ...message, env, circuits: circuitsForStep() }, () => undefined);
    }
    ended = await Promise.race([settled.then(() => undefined), host.exited]);
  } catch (err) {
    host.kill();
    pool?.hosts.give(host, false);
    return {
      ...base,
      error: {
        code: ErrorCode.INTERNAL,
        message: `step "${message.stepId}" could not start: ${(err as Error).message}`,
        step: message.stepId,
      },
    };
  } finally {
    child.off('message', onMessage);
    clearTimeout(timer);
    clearTimeout(killTimer);
    signal.removeEventListener('abort', onAbort);
  }

  if (!sent && stopping && ended === undefined) {
    // Stopped before it reached the process, which ran nothing of it and may take the next step.
    pool ? pool.hosts.give(host, true) : host.kill();
    return { ...base, status: stopping.status, error: stopping.error };
  }
  if (ended === undefined && !stopping) {
    if (!pool) host.kill();
    else {
      // What the step started may outlive it (a shell command's own process group, a background
      // process): none may stay. The process is kept only after a success that left nothing
      // behind and did not make it grow: a failed step may have left work running inside it.
      const tidy = !spawned || (child.pid !== undefined && killStepLeftovers(child.pid, host.mark, pids));
      const keep = tidy && result?.status === 'success' && rssBytes < keepBelowBytes(memoryMb);
      pool.hosts.give(host, keep);
    }
  } else {
    // Only once nothing it started survives can its stderr close — a survivor could hold it open —
    // and only then is the tail complete (V8's out-of-memory report comes last).
    host.kill();
    pool?.hosts.give(host, false);
    await host.closed;
  }

  if (stopping) {
    // A step that finished before the cancel landed keeps its result.
    if (result && result.status === 'success') return result;
    return { ...base, ...(result ?? {}), status: stopping.status, error: stopping.error };
  }
  if (result) return result;
  const redact = redactor(message.secrets, message.aliases);
  const exit = ended ?? (await host.exited);
  return {
    ...base,
    error: failure ?? crashed(message.stepId, exit, host.stderr.lines.map(redact), memoryMb),
  };
}

/**
 * A process whose resident memory passed this after a step is not kept: half the step memory
 * limit, but never below what Node and the engine take at rest.
 */
function keepBelowBytes(memoryMb: number): number {
  return Math.max(memoryMb / 2, 256) * 1024 * 1024;
}

function crashed(stepId: string, exit: Exit, stderr: string[], memoryMb: number): ErrorReport {
  if (exit.error) {
    return {
      code: ErrorCode.INTERNAL,
      message: `step "${stepId}": cannot start its process: ${exit.error}`,
      step: stepId,
    };
  }
  const tail = stderr.slice(-5).join('\n');
  if (/heap out of memory|Reached heap limit|Allocation failed/i.test(stderr.join('\n'))) {
    return {
      code: ErrorCode.INTERNAL,
      message: `step "${stepId}" ran out of memory (limit ${memoryMb} MB); raise the worker's step memory limit (--step-memory) or make the step hold less`,
      step: stepId,
    };
  }
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return {
    code: ErrorCode.INTERNAL,
    message: `step "${stepId}"'s process ${how} before reporting a result${tail ? `:\n${tail}` : ''}`,
    step: stepId,
  };
}
