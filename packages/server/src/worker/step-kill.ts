import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

// Killing the step process's group is not enough: the shell task (and any plugin that follows
// its lead) starts its command `detached`, in a process group of its own, and a process whose
// parent died is re-parented to init, so neither the group nor the parent chain reaches it.
// Like Jenkins' ProcessTreeKiller, every step process gets a unique variable in its environment,
// which its descendants inherit; at the end, whatever still carries it (and whatever descends
// from that) is killed. On systems without /proc only the group is killed.

/** The variable that marks a step's process and everything it starts. */
export const STEP_MARK_VAR = 'SLUICE_STEP_PROCESS';

/** A fresh mark for one step process. */
export function newStepMark(): string {
  return randomUUID();
}

interface Proc {
  pid: number;
  ppid: number;
  /** Dead, waiting for its parent to reap it: nothing to kill, but its children still count. */
  zombie: boolean;
}

function readProcs(): Proc[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const procs: Proc[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name in parentheses may hold spaces and parentheses: the fields after the
      // last ')' are fixed (state, ppid, ...).
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.push({ pid: Number(name), ppid: Number(ppid), zombie: state === 'Z' });
    } catch {
      // gone since the listing
    }
  }
  return procs;
}

function carriesMark(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
  } catch {
    // another user's process, or gone
    return false;
  }
}

/** The live processes marked with `mark`, and their descendants. */
export function markedProcesses(mark: string): number[] {
  const procs = readProcs();
  const entry = `${STEP_MARK_VAR}=${mark}`;
  // By mark only, never by a remembered pid: once reaped, a pid may belong to anyone.
  const found = new Set<number>();
  for (const p of procs) if (p.pid !== process.pid && carriesMark(p.pid, entry)) found.add(p.pid);
  // A descendant that cleared its environment is still reached through its parent.
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const siblings = children.get(p.ppid);
    if (siblings) siblings.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const queue = [...found];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    for (const c of children.get(pid) ?? []) {
      if (!found.has(c) && c !== process.pid) {
        found.add(c);
        queue.push(c);
      }
    }
  }
  const dead = new Set(procs.filter((p) => p.zombie).map((p) => p.pid));
  return [...found].filter((p) => !dead.has(p));
}

function kill(target: number): boolean {
  try {
    process.kill(target, 'SIGKILL');
    return true;
  } catch {
    // ESRCH: already gone
    return false;
  }
}

/**
 * SIGKILLs a step's process group (`pid` leads it: the process was forked `detached`) and every
 * process carrying its mark. Synchronous, so it can run in a process 'exit' handler.
 */
export function killStepTree(pid: number | undefined, mark: string): void {
  // Scanned before anything dies: a process whose parent dies is re-parented, and one that
  // cleared its environment is then found no more.
  let targets = markedProcesses(mark);
  if (pid !== undefined) kill(-pid);
  // A process may fork between the scan and the kill: scan again until nothing is left.
  for (let pass = 0; pass < 3 && targets.length > 0; pass++) {
    let hit = false;
    for (const p of targets) hit = kill(p) || hit;
    if (!hit) return;
    targets = markedProcesses(mark);
  }
}

/** Where the kernel's pid counter stood: the last pid handed out and the number of forks so far. */
export interface PidMark {
  last: number;
  forks: number;
}

/** The pid counter now (Linux), or undefined without /proc. */
export function pidMark(): PidMark | undefined {
  try {
    const last = Number(readFileSync('/proc/loadavg', 'latin1').trim().split(' ').pop());
    const forks = Number(/^processes (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1]);
    return Number.isInteger(last) && Number.isInteger(forks) ? { last, forks } : undefined;
  } catch {
    return undefined;
  }
}

// Beyond this many pids handed out during one step, scanning all of /proc costs no more.
const MAX_RANGE = 2048;

/**
 * SIGKILLs what a step process started and left running (by its mark, or as a descendant of the
 * process or of a marked one), sparing the process itself: it is kept for the next step.
 * Whatever a step started got a pid handed out while it ran, and pids are handed out in order:
 * with `since` (pidMark() when the step began), only the pids given since are looked at — a
 * handful, instead of every process. Returns false when something was still there after three
 * rounds (a process that forks as fast as it is killed): the caller must not keep the process.
 */
export function killStepLeftovers(pid: number, mark: string, since: PidMark | undefined): boolean {
  // A SIGKILLed process lingers for a moment: it counts once, and only new ones call for a round.
  const killed = new Set<number>();
  for (let pass = 0; pass < 3; pass++) {
    // Read again each round: what a leftover forked meanwhile has a newer pid.
    const range = since ? pidsSince(since) : undefined;
    const targets = range ? markedAmong(range, mark, pid) : markedProcesses(mark).filter((p) => p !== pid);
    let hit = false;
    for (const p of targets) {
      if (killed.has(p)) continue;
      killed.add(p);
      hit = kill(p) || hit;
    }
    if (!hit) return true;
  }
  return false;
}

/** The pids handed out since `since`; undefined when a full scan is needed (too many, or wrapped). */
function pidsSince(since: PidMark): number[] | undefined {
  const now = pidMark();
  if (!now) return undefined;
  const range = pidsBetween(since.last, now.last);
  // Every fork takes a pid (threads too): more forks than pids in the range means the counter
  // went all the way round.
  if (!range || now.forks - since.forks > range.length) return undefined;
  return range;
}

/** The pids after `from` up to `to`, counting across the wrap; undefined when too many to visit. */
function pidsBetween(from: number, to: number): number[] | undefined {
  const run = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  if (to === from) return [];
  if (to > from) return to - from > MAX_RANGE ? undefined : run(from + 1, to);
  // Wrapped past pid_max: the new pids are those above `from`, then those from the bottom to `to`.
  let max: number;
  try {
    max = Number(readFileSync('/proc/sys/kernel/pid_max', 'latin1')) - 1;
  } catch {
    return undefined;
  }
  if (!(max >= from) || max - from + to > MAX_RANGE) return undefined;
  return [...run(from + 1, max), ...run(1, to)];
}

// The lines of /proc/<pid>/status read per pid, compiled once: the scan runs after every step.
const STATUS_FIELDS = { Tgid: /^Tgid:\s*(\S+)/m, State: /^State:\s*(\S+)/m, PPid: /^PPid:\s*(\S+)/m };

/** Of these pids, the live processes carrying the mark or descending from `root` or a marked one. */
function markedAmong(pids: number[], mark: string, root: number): number[] {
  const entry = `${STEP_MARK_VAR}=${mark}`;
  const found = new Set<number>([root]);
  // In pid order a parent comes before its children (all were started within the range).
  for (const pid of pids) {
    // Most are gone already (short commands): a failed read's exception costs more than this check.
    if (!existsSync(`/proc/${pid}`)) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'latin1');
    } catch {
      continue; // gone since
    }
    const field = (name: keyof typeof STATUS_FIELDS) => STATUS_FIELDS[name].exec(status)?.[1];
    // A thread's id is in the range too (a thread of the kept process itself, say): not a process.
    if (field('Tgid') !== String(pid) || field('State') === 'Z') continue;
    if (found.has(Number(field('PPid'))) || carriesMark(pid, entry)) found.add(pid);
  }
  found.delete(root);
  return [...found];
}
