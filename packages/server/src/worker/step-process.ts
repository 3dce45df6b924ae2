import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  ErrorCode,
  type ErrorReport,
  emptyStep,
  type RunEvent,
  type StepReport,
  type StepStatus,
} from '@sluice/core';
import { killStepTree, newStepMark, STEP_MARK_VAR } from './step-kill.ts';
import type { ChildMessage, RunMessage } from './step-messages.ts';
import { redactor } from './step-redact.ts';

export interface StepProcessOptions extends Omit<RunMessage, 'type'> {
  /** Heap limit of the step's process. @defaultValue 1024 */
  memoryMb?: number;
  timeoutMs?: number;
  signal: AbortSignal;
  onEvent(event: RunEvent): void;
  /** How long a cancelled step may take to stop cleanly before its process group is killed. @defaultValue 5000 */
  killGraceMs?: number;
  onSpawn?(pid: number): void;
}

/** Where the child's entry is, and how Node must load it (TypeScript sources need tsx). */
export function childEntry(): { path: string; execArgv: string[] } {
  // From the sources, the entry is the .ts beside this file; in the CLI bundle, step-child.mjs
  // sits beside the bundle, one level above the chunk this code may be split into.
  const candidates = ['./step-child.ts', './step-child.mjs', '../step-child.mjs'].map((f) =>
    fileURLToPath(new URL(f, import.meta.url)),
  );
  const path = candidates.find((f) => existsSync(f)) ?? candidates[1]!;
  // Resolved here, not by name: the step's working directory has no node_modules to find tsx in.
  return { path, execArgv: path.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [] };
}

// Variables of Sluice itself (master key, admin password) never reach a step's process.
export function stepEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !k.startsWith('SLUICE_')) out[k] = v;
  return out;
}

// Steps still running, so the worker's exit takes them (and all they started) with it.
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;
function track(child: ChildProcess, mark: string): void {
  live.set(child, mark);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [c, m] of live) killStepTree(c.pid, m);
  });
}

const STDERR_LINES = 20;
const STDERR_LINE_CHARS = 2000;

/** The last lines of a stream, each cut to a bounded length: memory stays bounded whatever it writes. */
function tailLines(stream: Readable | null): string[] {
  const lines: string[] = [];
  let partial = '';
  const keep = (line: string) => {
    if (line.trim() === '') return;
    lines.push(line.length > STDERR_LINE_CHARS ? `${line.slice(0, STDERR_LINE_CHARS)}…` : line);
    if (lines.length > STDERR_LINES) lines.shift();
  };
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!.slice(0, STDERR_LINE_CHARS + 1);
    for (const line of parts) keep(line);
  });
  stream?.on('end', () => keep(partial));
  return lines;
}

/**
 * Runs one step in its own process (its own process group, so a cancel or timeout kills the
 * step's children too) and resolves with its report. Failures of the process itself — out of
 * memory, killed, crashed — become a failed report that says what happened.
 */
export async function runStepProcess(opts: StepProcessOptions): Promise<StepReport> {
  const { memoryMb = 1024, timeoutMs, signal, onEvent, killGraceMs = 5000, onSpawn, ...message } = opts;
  await mkdir(message.workDir, { recursive: true });
  const entry = childEntry();
  const env = message.env ?? stepEnv();
  const mark = newStepMark();
  const child = fork(entry.path, [], {
    cwd: message.workDir,
    detached: true,
    env: { ...env, [STEP_MARK_VAR]: mark },
    execArgv: [...entry.execArgv, `--max-old-space-size=${memoryMb}`],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  track(child, mark);
  const stderr = tailLines(child.stderr);

  let result: StepReport | undefined;
  let failure: ErrorReport | undefined;
  let stopping: { status: StepStatus; error: ErrorReport } | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (status: StepStatus, error: ErrorReport) => {
    if (stopping) return;
    stopping = { status, error };
    if (child.connected) child.send({ type: 'cancel' }, () => undefined);
    killTimer = setTimeout(() => killStepTree(child.pid, mark), killGraceMs);
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

  child.on('message', (m: ChildMessage) => {
    if (m.type === 'event') onEvent(m.event);
    else if (m.type === 'result') result = m.report;
    else if (m.type === 'error') failure = m.error;
  });
  let closed!: () => void;
  const streamsClosed = new Promise<void>((resolve) => {
    closed = resolve;
    child.once('close', () => resolve());
  });
  const exit = await new Promise<Exit>((resolve) => {
    child.once('spawn', () => {
      if (child.pid !== undefined) onSpawn?.(child.pid);
      child.send({ type: 'run', ...message, env }, () => undefined);
    });
    // Before the spawn, an error means there is no process (no 'exit' follows); after it, a
    // failed send to a process already gone, whose 'exit' tells the story.
    child.on('error', (err) => {
      if (child.pid !== undefined) return;
      closed();
      resolve({ code: null, signal: null, error: err.message });
    });
    child.once('exit', (code, sig) => resolve({ code, signal: sig }));
  });
  // What the step started may outlive it (a shell command's own process group, a background
  // process): none may stay. Only then can its stderr close — a survivor could hold it open —
  // and only then is the tail complete (V8's out-of-memory report comes last).
  killStepTree(child.pid, mark);
  await streamsClosed;
  live.delete(child);
  clearTimeout(timer);
  clearTimeout(killTimer);
  signal.removeEventListener('abort', onAbort);

  // The kind is the caller's to know (job-runner sets it from the plan); a report's own wins.
  const base = { ...emptyStep({ id: message.stepId, kind: 'task' }, 'failed'), attempts: 1 };

  if (stopping) {
    // A step that finished before the cancel landed keeps its result.
    if (result && result.status === 'success') return result;
    return { ...base, ...(result ?? {}), status: stopping.status, error: stopping.error };
  }
  if (result) return result;
  const redact = redactor(message.secrets);
  return { ...base, error: failure ?? crashed(message.stepId, exit, stderr.map(redact), memoryMb) };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the process could not be started. */
  error?: string;
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
