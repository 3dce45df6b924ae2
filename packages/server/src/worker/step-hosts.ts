import { type ChildProcess, fork } from 'node:child_process';
import type { Readable } from 'node:stream';
import { childEntry } from './step-entry.ts';
import { killStepTree, newStepMark, STEP_MARK_VAR } from './step-kill.ts';

/** How a step process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the process could not be started. */
  error?: string;
}

const STDERR_LINES = 20;
const STDERR_LINE_CHARS = 2000;

/** The last lines a process wrote to stderr, each cut short: bounded whatever it writes. */
class StderrTail {
  lines: string[] = [];
  private partial = '';
  constructor(stream: Readable | null) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop()!.slice(0, STDERR_LINE_CHARS + 1);
      for (const line of parts) this.keep(line);
    });
    stream?.on('end', () => this.keep(this.partial));
  }
  private keep(line: string): void {
    if (line.trim() === '') return;
    this.lines.push(line.length > STDERR_LINE_CHARS ? `${line.slice(0, STDERR_LINE_CHARS)}…` : line);
    if (this.lines.length > STDERR_LINES) this.lines.shift();
  }
  /** A new step starts: what an earlier one wrote is not its story. */
  reset(): void {
    this.lines = [];
    this.partial = '';
  }
}

// Step processes alive, so the worker's exit takes them (and all they started) with it.
const live = new Set<StepHost>();
let exitHookInstalled = false;

/**
 * One step process: forked detached (it leads its own process group) with a unique mark in its
 * environment that everything it starts inherits, so a kill reaches all of it.
 */
export class StepHost {
  readonly child: ChildProcess;
  readonly mark = newStepMark();
  readonly stderr: StderrTail;
  /** Resolves once the process has exited (or could not start). */
  readonly exited: Promise<Exit>;
  /** Resolves once its output streams are closed: the stderr tail is complete. */
  readonly closed: Promise<void>;
  /** Resolves when it runs, or with the reason it could not start. */
  readonly started: Promise<string | undefined>;
  /** Steps given to it so far. */
  steps = 0;
  exit: Exit | undefined;

  constructor(
    readonly key: string,
    readonly memoryMb: number,
    env: Record<string, string>,
  ) {
    const entry = childEntry();
    this.child = fork(entry.path, [], {
      detached: true,
      env: { ...env, [STEP_MARK_VAR]: this.mark },
      // --expose-gc: the process collects between steps, so each step's peak memory is its own.
      execArgv: [...entry.execArgv, `--max-old-space-size=${memoryMb}`, '--expose-gc'],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    this.stderr = new StderrTail(this.child.stderr);
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const h of live) h.kill();
      });
    }
    let closed!: () => void;
    this.closed = new Promise<void>((resolve) => {
      closed = resolve;
      this.child.once('close', () => resolve());
    });
    let fail!: (error: string) => void;
    this.started = new Promise((resolve) => {
      fail = resolve;
      this.child.once('spawn', () => resolve(undefined));
    });
    this.exited = new Promise<Exit>((resolve) => {
      // Before the spawn, an error means there is no process (no 'exit' follows); after it, a
      // failed send to a process already gone, whose 'exit' tells the story.
      this.child.on('error', (err) => {
        if (this.child.pid !== undefined) return;
        closed();
        fail(err.message);
        resolve({ code: null, signal: null, error: err.message });
      });
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
    }).then((exit) => {
      this.exit = exit;
      live.delete(this);
      return exit;
    });
  }

  get alive(): boolean {
    return this.exit === undefined && this.child.connected;
  }

  /** SIGKILLs the process, its group and everything carrying its mark. */
  kill(): void {
    killStepTree(this.child.pid, this.mark);
  }
}

export interface StepHostPoolOptions {
  /** Steps one process runs before it is replaced; 1 = a fresh process for every step. @defaultValue 100 */
  stepsPerProcess?: number;
  /** An idle process older than this exits. @defaultValue 30000 */
  idleMs?: number;
  /** Idle processes kept at most; the longest idle goes first. @defaultValue 8 */
  maxIdle?: number;
}

/**
 * Step processes kept between steps, so a short step does not pay for starting Node and the
 * engine (~0.2 s of CPU) every time. A process only ever runs steps of one key (the worker uses the
 * pipeline): one pipeline's steps never share a process with another's. A process that was
 * cancelled, timed out, crashed or ran its share of steps is not given back; it is killed.
 */
export class StepHostPool {
  private readonly idle: { host: StepHost; timer: NodeJS.Timeout }[] = [];
  private readonly o: Required<StepHostPoolOptions>;

  constructor(options: StepHostPoolOptions = {}) {
    this.o = { stepsPerProcess: 100, idleMs: 30_000, maxIdle: 8, ...options };
  }

  /** An idle process of this key and memory limit, or a new one. */
  take(key: string, memoryMb: number, env: Record<string, string>): StepHost {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const { host, timer } = this.idle[i]!;
      if (host.key !== key || host.memoryMb !== memoryMb) continue;
      this.idle.splice(i, 1);
      clearTimeout(timer);
      if (host.alive) return host;
      host.kill();
    }
    return new StepHost(key, memoryMb, env);
  }

  /** A step ended: its process waits for the next one if it may, and is killed otherwise. */
  give(host: StepHost, reusable: boolean): void {
    if (!reusable || !host.alive || host.steps >= this.o.stepsPerProcess || this.o.maxIdle === 0) {
      host.kill();
      return;
    }
    if (this.idle.length >= this.o.maxIdle) this.evict(0);
    const timer = setTimeout(() => this.evict(this.idle.findIndex((e) => e.host === host)), this.o.idleMs);
    timer.unref();
    this.idle.push({ host, timer });
  }

  /** Kills every idle process (the worker is stopping). */
  close(): void {
    while (this.idle.length > 0) this.evict(0);
  }

  private evict(i: number): void {
    if (i < 0) return;
    const [e] = this.idle.splice(i, 1);
    if (!e) return;
    clearTimeout(e.timer);
    e.host.kill();
  }
}
