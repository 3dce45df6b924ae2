import { type ChildProcess, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { type Static, Type } from '@sinclair/typebox';
import { defineTask, ErrorCode, FatalError, type TaskContext, type TaskResult } from '@sluice/core';

const Config = Type.Object(
  {
    command: Type.Array(Type.String(), {
      minItems: 1,
      description:
        'Program and arguments, e.g. ["wc", "-l", "data.csv"]. No shell runs it: $VARS, globs, pipes ' +
        'and quotes are passed literally. For shell syntax, run ["sh", "-c", "..."] explicitly.',
    }),
    cwd: Type.Optional(
      Type.String({ minLength: 1, description: 'Working directory, relative to the task directory.' }),
    ),
    env: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: 'Variables added to the environment of the command.',
      }),
    ),
    timeout: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Milliseconds before the command is stopped and the task fails.',
      }),
    ),
    allowFailure: Type.Boolean({
      default: false,
      description: 'Succeed even when the command exits with a non-zero code (the code is in the metrics).',
    }),
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

const LIMITS = {
  /** Longest line sent to the log; longer ones are cut with an ellipsis. */
  logLine: 2000,
  /** Lines of stdout kept for the report. */
  outputLines: 20,
  /** Characters of stdout kept for the report. */
  outputChars: 4096,
  /** Grace between SIGTERM and SIGKILL when stopping the command. */
  killAfterMs: 5000,
} as const satisfies Record<string, number>;

/** `wc -l 'my file'`: the argv as a person would type it, for messages. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

function cap(line: string): string {
  return line.length > LIMITS.logLine ? `${line.slice(0, LIMITS.logLine)}…` : line;
}

/** Calls `onLine` for each line of `stream`, decoding UTF-8 across chunk boundaries. */
function eachLine(stream: Readable, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  });
  stream.on('end', () => {
    if (partial.length > 0) onLine(partial);
    partial = '';
  });
}

/** Signals the command's whole process group, so children it started go too. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

async function run(ctx: TaskContext<Config>): Promise<TaskResult> {
  const { command, env, timeout, allowFailure } = ctx.config;
  const shown = `\`${formatCommand(command)}\``;
  const where = ctx.componentId;
  const cwd = resolve(ctx.workDir, ctx.config.cwd ?? '.');
  const isDir = await stat(cwd).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    throw new FatalError(`${where}: working directory ${cwd} of command ${shown} does not exist`, {
      code: ErrorCode.NOT_FOUND,
    });
  }
  if (ctx.signal.aborted) throw ctx.signal.reason;

  const started = performance.now();
  // detached puts the command in its own process group: stopping it stops its children too.
  const child = spawn(command[0]!, command.slice(1), {
    cwd,
    env: { ...process.env, ...env },
    shell: false,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  let lastError = '';
  eachLine(child.stdout!, (line) => {
    const capped = cap(line);
    ctx.log.info(capped);
    tail.push(capped);
    if (tail.length > LIMITS.outputLines) tail.shift();
  });
  eachLine(child.stderr!, (line) => {
    const capped = cap(line);
    ctx.log.warn(capped);
    if (capped.trim().length > 0) lastError = capped;
  });

  let stopped: 'abort' | 'timeout' | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (why: 'abort' | 'timeout') => {
    if (stopped) return;
    stopped = why;
    signalGroup(child, 'SIGTERM');
    killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), LIMITS.killAfterMs);
  };
  const onAbort = () => stop('abort');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const timeoutTimer = timeout === undefined ? undefined : setTimeout(() => stop('timeout'), timeout);

  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    exit = await new Promise((done, fail) => {
      child.once('error', fail);
      // What the command left running in its group is stopped with it, so no orphan remains
      // (and holds our pipes open).
      child.once('exit', () => {
        signalGroup(child, 'SIGTERM');
        killTimer ??= setTimeout(() => signalGroup(child, 'SIGKILL'), LIMITS.killAfterMs);
      });
      child.once('close', (code, signal) => done({ code, signal }));
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? `command not found: "${command[0]}" — check the program name, or give its full path (PATH is searched)`
        : code === 'EACCES'
          ? `"${command[0]}" is not executable — check its permissions`
          : (err as Error).message;
    throw new FatalError(`${where}: cannot run ${shown}: ${reason}`, {
      code: ErrorCode.TASK_FAILED,
      cause: err,
    });
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
  }
  const durationMs = Math.round(performance.now() - started);
  if (stopped === 'abort') throw ctx.signal.reason;
  if (stopped === 'timeout') {
    throw new FatalError(`${where}: command ${shown} did not finish within ${timeout} ms and was stopped`, {
      code: ErrorCode.TIMEOUT,
    });
  }
  const exitCode = exit.code ?? 128 + (exit.signal ? (constants.signals[exit.signal] ?? 0) : 0);
  let output = tail.join('\n');
  if (output.length > LIMITS.outputChars) output = output.slice(-LIMITS.outputChars);
  const result = { output, metrics: { exitCode, durationMs } };
  if (exitCode === 0) return result;
  const how = exit.code === null ? `was killed by signal ${exit.signal}` : `exited with code ${exit.code}`;
  const message = `command ${shown} ${how}${lastError ? `: ${lastError}` : ''}`;
  if (allowFailure) {
    ctx.log.warn(`${message} (allowed: allowFailure is set)`);
    return result;
  }
  throw new FatalError(`${where}: ${message}`, { code: ErrorCode.TASK_FAILED });
}

export const shellTask = defineTask({
  name: 'shell',
  version: '1.0.0',
  summary: 'Runs a program with arguments (no shell), streaming its output to the log.',
  config: Config,
  example: { command: ['wc', '-l', 'data/orders.csv'], timeout: 60_000, allowFailure: false },
  run,
});
