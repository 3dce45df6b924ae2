import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type Static, Type } from '@sinclair/typebox';
import {
  defineTask,
  ErrorCode,
  FatalError,
  resolveLocalPath,
  SluiceError,
  type TaskContext,
  type TaskResult,
} from '@sluice/core';
import { LogLines } from './log-lines.ts';

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
    saveOutput: Type.Boolean({
      default: false,
      description:
        "Also write the command's complete stdout and stderr to stdout.log and stderr.log in the step's " +
        'state directory (the log cuts lines after 2,000 characters); on the platform they become the ' +
        "job's artifacts <step>.stdout.log and <step>.stderr.log.",
    }),
  },
  { additionalProperties: false },
);
type Config = Static<typeof Config>;

const LIMITS = {
  /** Longest line sent to the log, in characters; longer ones are cut, with a marker. */
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

/**
 * Logs each line of `stream` (cut at LIMITS.logLine) and, when `file` is given, copies the bytes
 * there, pausing the command while the file catches up.
 */
function consume(stream: Readable, onLine: (line: string) => void, file: WriteStream | undefined): void {
  const lines = new LogLines(LIMITS.logLine, onLine);
  let out = file;
  // A file that fails (a full disk) is given up, and the command no longer waits for it.
  out?.once('error', () => {
    out = undefined;
    stream.resume();
  });
  stream.on('data', (chunk: Buffer) => {
    lines.push(chunk);
    if (out !== undefined && !out.write(chunk)) {
      stream.pause();
      out.once('drain', () => stream.resume());
    }
  });
  stream.on('end', () => {
    lines.end();
    out?.end();
  });
}

/** A file for the full output; its write error, if any, is kept for the end of the run. */
function outputFile(path: string, errors: Error[]): WriteStream {
  const file = createWriteStream(path);
  file.on('error', (err) => errors.push(err));
  return file;
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
  const { command, env, timeout, allowFailure, saveOutput } = ctx.config;
  const shown = `\`${formatCommand(command)}\``;
  const where = ctx.componentId;
  // Checked like any path a step opens: a command started in a directory reads it by relative names.
  const cwd = await resolveLocalPath(
    { ...ctx, baseDir: ctx.workDir },
    ctx.config.cwd ?? '.',
    `${where}: config.cwd`,
  );
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
  const saved = saveOutput ? [join(ctx.stepDir, 'stdout.log'), join(ctx.stepDir, 'stderr.log')] : [];
  if (saveOutput) await mkdir(ctx.stepDir, { recursive: true });

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
  const writeErrors: Error[] = [];
  const files = saved.map((path) => outputFile(path, writeErrors));
  consume(
    child.stdout!,
    (line) => {
      ctx.log.info(line);
      tail.push(line);
      if (tail.length > LIMITS.outputLines) tail.shift();
    },
    files[0],
  );
  consume(
    child.stderr!,
    (line) => {
      ctx.log.warn(line);
      if (line.trim().length > 0) lastError = line;
    },
    files[1],
  );

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
    for (const f of files) f.destroy();
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
  await Promise.all(files.map((f) => finished(f).catch(() => undefined)));
  const durationMs = Math.round(performance.now() - started);
  if (stopped === 'abort') throw ctx.signal.reason;
  if (stopped === 'timeout') {
    throw new SluiceError(
      ErrorCode.TIMEOUT,
      `${where}: command ${shown} did not finish within ${timeout} ms and was stopped`,
    );
  }
  if (writeErrors.length > 0) {
    throw new SluiceError(
      ErrorCode.TASK_FAILED,
      `${where}: could not save the output of ${shown}: ${writeErrors[0]!.message}`,
      {
        cause: writeErrors[0],
      },
    );
  }
  // Tasks have no artifacts of their own yet: the files stay in the step's state directory.
  if (saveOutput) ctx.log.info(`the full output of ${shown} is in ${saved[0]} and ${saved[1]}`);
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
  // Not fatal: a command can fail on a condition a later attempt finds fixed, so the platform may retry the job.
  throw new SluiceError(ErrorCode.TASK_FAILED, `${where}: ${message}`);
}

export const shellTask = defineTask({
  name: 'shell',
  version: '1.0.0',
  summary: 'Runs a program with arguments (no shell), streaming its output to the log.',
  config: Config,
  // Secrets a command needs (an API token) travel as environment variables from a credential.
  credentialSchema: Type.Object(
    {
      env: Type.Record(Type.String(), Type.String(), {
        writeOnly: true,
        description: "Variables added to the environment of the command; the step's own `env` adds to them.",
      }),
    },
    { additionalProperties: false },
  ),
  example: {
    command: ['wc', '-l', 'data/orders.csv'],
    timeout: 60_000,
    allowFailure: false,
    saveOutput: false,
  },
  run,
});
