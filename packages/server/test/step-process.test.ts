import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunEvent } from '@sluice/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics/registry.ts';
import type { Platform } from '../src/platform.ts';
import { circuitStatesNow, clearCircuitBook } from '../src/worker/circuit-book.ts';
import { stepEnv } from '../src/worker/step-entry.ts';
import { StepHostPool } from '../src/worker/step-hosts.ts';
import { runStepProcess } from '../src/worker/step-process.ts';
import { refusingPort } from './helpers/net.ts';
import { stepRun } from './helpers/step-run.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'sluice-step-'));
const fixture = (name: string) => join(import.meta.dirname, 'fixtures', `${name}.mjs`);
let serial = 0;
/** A `sleep` argument no other process has: days long, so only a kill ends it, and unique for pgrep. */
const marker = () => `${86_400 + process.pid}.${Date.now()}${serial++}`;

const base = stepRun;

const alive = (arg: string) => {
  try {
    return execFileSync('pgrep', ['-f', `sleep ${arg}`], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
};
/** Resolves once `sleep <arg>` runs (the test's own timeout bounds the wait). */
async function started(arg: string): Promise<void> {
  while (!alive(arg)) await sleep(50);
}
const shell = (...command: string[]) => ({
  name: 'p',
  steps: [{ id: 's', task: 'shell', with: { command } }],
});
const statuses = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'step' ? [e.status] : []));

// Each test starts step processes (Node + tsx, ~1 s each, more on a busy machine).
describe('a step in its own process', { timeout: 30_000 }, () => {
  it('runs a flow step and reports its rows and events', async () => {
    const w = dir();
    writeFileSync(join(w, 'in.csv'), 'id,name\n1,a\n2,b\n3,c\n');
    const spec = {
      name: 'p',
      steps: [
        {
          id: 'load',
          flow: [
            { source: 'csv', with: { path: 'in.csv' } },
            { sink: 'ndjson', with: { path: 'out.ndjson' } },
          ],
        },
        { id: 'after', needs: ['load'], task: 'shell', with: { command: ['true'] } },
      ],
    };
    const events: RunEvent[] = [];
    const report = await runStepProcess({ ...base(w, spec, 'load'), onEvent: (e) => events.push(e) });
    expect(report).toMatchObject({ id: 'load', status: 'success', rowsRead: 3, rowsWritten: 3 });
    // The run profile: the step process's own CPU time and peak memory.
    expect(report.resources!.cpuMs).toBeGreaterThan(0);
    expect(report.resources!.peakRssBytes).toBeGreaterThan(20 * 1024 * 1024);
    expect(readFileSync(join(w, 'out.ndjson'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(statuses(events)).toEqual(['running', 'success']);
    expect(events).toContainEqual(expect.objectContaining({ type: 'progress', stepId: 'load', rowsRead: 3 }));
  });

  it('registers the connectors of extra modules', async () => {
    const w = dir();
    const spec = {
      name: 'p',
      steps: [
        {
          id: 'count',
          flow: [
            { source: 'counter', with: { count: 25 } },
            { sink: 'ndjson', with: { path: 'n.ndjson' } },
          ],
        },
      ],
    };
    const events: RunEvent[] = [];
    const report = await runStepProcess({
      ...base(w, spec, 'count'),
      modules: [fixture('counter')],
      onEvent: (e) => events.push(e),
    });
    expect(report).toMatchObject({ status: 'success', rowsRead: 25, rowsWritten: 25 });
    const progress = events.flatMap((e) => (e.type === 'progress' ? [[e.rowsRead, e.done, e.total]] : []));
    expect(progress).toEqual([
      [10, 10, 25],
      [20, 20, 25],
      [25, 25, 25],
    ]);

    const missing = await runStepProcess({ ...base(w, spec, 'count'), modules: [join(w, 'nowhere.mjs')] });
    expect(missing).toMatchObject({
      status: 'failed',
      error: { code: 'NOT_FOUND', message: expect.stringContaining('cannot load connector module') },
    });
  });

  it('reports a failing step and a plan it cannot run', async () => {
    const w = dir();
    const r = await runStepProcess(base(w, shell('false'), 's'));
    expect(r).toMatchObject({
      status: 'failed',
      error: { message: expect.stringMatching(/exited with code 1/) },
    });
    // The plan was checked where it was made; the step's process still refuses what it cannot
    // run: a connector its registry lacks, a config its credential leaves invalid.
    const unknown = base(w, shell('true'), 's');
    const [task] = unknown.plan.steps;
    if (task?.kind === 'task') task.task.connector = 'nope';
    const bad = await runStepProcess(unknown);
    expect(bad).toMatchObject({
      status: 'failed',
      error: {
        code: 'CONFIG_INVALID',
        issues: [{ path: 'steps[0].task', message: expect.stringContaining('unknown task "nope"') }],
      },
    });
    const named = { name: 'p', steps: [{ id: 's', task: 'shell', credential: 'sh' }] };
    const incomplete = await runStepProcess({ ...base(w, named, 's'), secrets: { sh: { env: { A: '1' } } } });
    expect(incomplete).toMatchObject({
      status: 'failed',
      error: { code: 'CONFIG_INVALID', issues: [{ path: expect.stringMatching(/^steps\[0\]\.with/) }] },
    });
    expect(JSON.stringify(incomplete.error)).toContain('command');
  });

  it('cancels a running command and leaves no process behind', async () => {
    const arg = marker();
    const ac = new AbortController();
    const pending = runStepProcess({
      ...base(dir(), shell('sleep', arg), 's'),
      signal: ac.signal,
      killGraceMs: 1000,
    });
    await started(arg);
    ac.abort();
    expect(await pending).toMatchObject({ status: 'cancelled', error: { code: 'ABORTED' } });
    expect(alive(arg)).toBe(false);
  });

  it('kills a step that ignores the cancel, with what it started outside its group', async () => {
    const arg = marker();
    const ac = new AbortController();
    const spec = { name: 'p', steps: [{ id: 's', task: 'stubborn', with: { sleep: arg } }] };
    const pending = runStepProcess({
      ...base(dir(), spec, 's'),
      modules: [fixture('misbehaving')],
      signal: ac.signal,
      killGraceMs: 300,
    });
    await started(arg);
    ac.abort();
    expect(await pending).toMatchObject({ status: 'cancelled', error: { code: 'ABORTED' } });
    expect(alive(arg)).toBe(false);
  });

  it('times a step out, killing its children', async () => {
    const arg = marker();
    const r = await runStepProcess({
      ...base(dir(), shell('sleep', arg), 's'),
      timeoutMs: 500,
      killGraceMs: 500,
    });
    expect(r).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
    expect(alive(arg)).toBe(false);
  });

  it('says when a step runs out of memory, and leaves nothing it started', async () => {
    const arg = marker();
    const spec = { name: 'p', steps: [{ id: 'big', task: 'hog', with: { sleep: arg } }] };
    const r = await runStepProcess({ ...base(dir(), spec, 'big'), memoryMb: 64, modules: [fixture('hog')] });
    expect(r.status).toBe('failed');
    expect(r.error!.message).toMatch(/ran out of memory \(limit 64 MB\); raise/);
    expect(alive(arg)).toBe(false);
  });

  it('quotes the stderr of a process that died without a report, secrets masked', async () => {
    const spec = {
      name: 'p',
      steps: [{ id: 's', task: 'crash', with: { text: 'login as hunter2-pw failed' } }],
    };
    const r = await runStepProcess({
      ...base(dir(), spec, 's'),
      modules: [fixture('misbehaving')],
      secrets: { password: 'hunter2-pw' },
    });
    expect(r).toMatchObject({ status: 'failed', error: { code: 'INTERNAL' } });
    expect(r.error!.message).toContain('exited with code 3 before reporting a result');
    expect(r.error!.message).toContain('login as ******** failed');
  });

  it('masks secrets in everything the step sends back', async () => {
    const secret = 'pg://admin:s3cr3t@db';
    const events: RunEvent[] = [];
    const r = await runStepProcess({
      ...base(dir(), shell('sh', '-c', `echo "using ${secret}"; echo "refused ${secret}" >&2; exit 2`), 's'),
      secrets: { db: { url: secret } },
      onEvent: (e) => events.push(e),
    });
    expect(r.status).toBe('failed');
    const sent = JSON.stringify({ r, events });
    expect(sent).not.toContain('s3cr3t');
    expect(sent).toContain('using ********');
    expect(sent).toContain('refused ********');
  });

  it("gives the step no SLUICE_ variable of the worker's", async () => {
    process.env.SLUICE_TEST_SECRET = 'from-the-worker';
    try {
      const events: RunEvent[] = [];
      const { env: _inherited, ...opts } = base(
        dir(),
        shell('sh', '-c', 'echo "[$SLUICE_TEST_SECRET]"'),
        's',
      );
      const r = await runStepProcess({ ...opts, onEvent: (e) => events.push(e) });
      expect(r.status).toBe('success');
      expect(events).toContainEqual(expect.objectContaining({ type: 'log', message: '[]' }));
      expect(stepEnv({ SLUICE_MASTER_KEY: 'k', HOME: '/h' })).toEqual({ HOME: '/h' });
      // Where Chromium is on this worker is a setting of the browser task, not a secret.
      expect(stepEnv({ SLUICE_CHROMIUM: '/opt/chromium', HOME: '/h' })).toEqual({
        SLUICE_CHROMIUM: '/opt/chromium',
        HOME: '/h',
      });
    } finally {
      delete process.env.SLUICE_TEST_SECRET;
    }
  });
});

describe('step processes kept between steps', { timeout: 30_000 }, () => {
  /** Runs a step in the pool; resolves with the process that ran it and what it logged. */
  async function step(
    hosts: StepHostPool,
    key: string,
    spec: unknown,
    o: { env?: Record<string, string>; signal?: AbortSignal } = {},
  ) {
    const workDir = dir();
    const logs: string[] = [];
    let pid = 0;
    const r = await runStepProcess({
      ...base(workDir, spec, 's'),
      env: { PATH: process.env.PATH ?? '', ...o.env },
      modules: [fixture('misbehaving')],
      ...(o.signal ? { signal: o.signal } : {}),
      pool: { hosts, key },
      onSpawn: (p) => {
        pid = p;
      },
      onEvent: (e) => {
        if (e.type === 'log') logs.push(e.message);
      },
    });
    return { r, pid, logs, workDir };
  }
  const processAlive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it("runs a key's steps in one process, each with only its own environment and directory", async () => {
    const hosts = new StepHostPool();
    try {
      const echo = ['sh', '-c', 'echo "[$FOO]" "$(pwd)"'];
      const a = await step(hosts, 'p1', shell(...echo), { env: { FOO: 'first' } });
      const b = await step(hosts, 'p1', shell(...echo));
      const other = await step(hosts, 'p2', shell(...echo));
      expect(a.r.status).toBe('success');
      expect(b.pid).toBe(a.pid);
      expect(other.pid).not.toBe(a.pid);
      expect(a.logs).toContain(`[first] ${a.workDir}`);
      expect(b.logs).toContain(`[] ${b.workDir}`);
    } finally {
      hosts.close();
    }
  });

  it('kills what a step left running but keeps the process for the next step', async () => {
    const hosts = new StepHostPool();
    try {
      const arg = marker();
      // setsid: the sleep leaves the step's process group, so only its mark finds it.
      const a = await step(hosts, 'p', shell('sh', '-c', `setsid sleep ${arg} > /dev/null 2>&1 &`));
      expect(a.r.status).toBe('success');
      expect(alive(arg)).toBe(false);
      expect(processAlive(a.pid)).toBe(true);
      const b = await step(hosts, 'p', shell('true'));
      expect(b.pid).toBe(a.pid);
    } finally {
      hosts.close();
    }
  });

  it('replaces a process after a cancel and after its share of steps, and kills idle ones on close', async () => {
    const hosts = new StepHostPool({ stepsPerProcess: 2 });
    const arg = marker();
    const ac = new AbortController();
    let cancelledPid = 0;
    const pending = runStepProcess({
      ...base(dir(), shell('sleep', arg), 's'),
      pool: { hosts, key: 'p' },
      signal: ac.signal,
      killGraceMs: 1000,
      onSpawn: (p) => {
        cancelledPid = p;
      },
    });
    await started(arg);
    ac.abort();
    expect(await pending).toMatchObject({ status: 'cancelled' });
    const a = await step(hosts, 'p', shell('true'));
    expect(a.pid).not.toBe(cancelledPid);
    const b = await step(hosts, 'p', shell('true'));
    expect(b.pid).toBe(a.pid);
    const c = await step(hosts, 'p', shell('true'));
    expect(c.pid).not.toBe(a.pid);
    expect(processAlive(a.pid)).toBe(false);
    hosts.close();
    await sleep(200);
    expect(processAlive(c.pid)).toBe(false);
  });

  const task = (name: string, config: Record<string, unknown>) => ({
    name: 'p',
    steps: [{ id: 's', task: name, with: config }],
  });

  it('kills a child the step started without its mark, and keeps the process', async () => {
    const hosts = new StepHostPool();
    try {
      const arg = marker();
      const a = await step(hosts, 'p', task('orphan', { sleep: arg }));
      expect(a.r.status).toBe('success');
      expect(alive(arg)).toBe(false);
      const b = await step(hosts, 'p', shell('true'));
      expect(b.pid).toBe(a.pid);
    } finally {
      hosts.close();
    }
  });

  it('never sends a step cancelled before it reached the process, and keeps the process', async () => {
    const hosts = new StepHostPool();
    try {
      const a = await step(hosts, 'p', shell('true'));
      const ac = new AbortController();
      ac.abort();
      const cancelled = await step(hosts, 'p', shell('sh', '-c', 'echo ran > ran.txt'), {
        signal: ac.signal,
      });
      expect(cancelled.r).toMatchObject({ status: 'cancelled', error: { code: 'ABORTED' } });
      expect(existsSync(join(cancelled.workDir, 'ran.txt'))).toBe(false);
      const b = await step(hosts, 'p', shell('true'));
      expect(b.pid).toBe(a.pid);
    } finally {
      hosts.close();
    }
  });

  it('does not keep a process after a failed step', async () => {
    const hosts = new StepHostPool();
    try {
      const failed = await step(hosts, 'p', shell('false'));
      expect(failed.r.status).toBe('failed');
      const next = await step(hosts, 'p', shell('true'));
      expect(next.pid).not.toBe(failed.pid);
      expect(processAlive(failed.pid)).toBe(false);
    } finally {
      hosts.close();
    }
  });

  it("drops what an earlier step's leftover work says during the next step", async () => {
    const hosts = new StepHostPool();
    try {
      const a = await step(hosts, 'p', task('linger', { text: 'late line', afterMs: 300 }));
      const b = await step(hosts, 'p', shell('sleep', '1'));
      expect(b.pid).toBe(a.pid);
      expect([...a.logs, ...b.logs]).not.toContain('late line');
    } finally {
      hosts.close();
    }
  });

  it('does not keep a process that grew past half its step memory', async () => {
    const hosts = new StepHostPool();
    try {
      const pids: number[] = [];
      for (const mb of [600, 0]) {
        const r = await runStepProcess({
          ...base(dir(), task('grow', { mb }), 's'),
          modules: [fixture('misbehaving')],
          memoryMb: 1024,
          pool: { hosts, key: 'p' },
          onSpawn: (p) => {
            pids.push(p);
          },
        });
        expect(r.status).toBe('success');
      }
      expect(pids[1]).not.toBe(pids[0]);
    } finally {
      hosts.close();
    }
  });
});

// Each step gets a fresh process (no pool): the circuit must outlive it, in the worker.
describe('circuit breakers across step processes', { timeout: 60_000 }, () => {
  afterEach(clearCircuitBook);

  it('a later step process starts from the circuits an earlier one left, and /metrics sees them', async () => {
    const port = await refusingPort();
    const endpoint = `127.0.0.1:${port}`;
    const workDir = dir();
    const spec = {
      name: 'p',
      retry: { attempts: 2, backoff: { initial: 1, max: 2 }, circuit: { failures: 2, halfOpenAfter: '6s' } },
      flow: [
        { source: 'postgres', with: { url: `postgres://u@${endpoint}/db`, table: 't' } },
        { sink: 'ndjson', with: { path: 'out.ndjson' } },
      ],
    };
    const step = async () => {
      const events: RunEvent[] = [];
      const report = await runStepProcess({ ...base(workDir, spec, 'main'), onEvent: (e) => events.push(e) });
      return { code: report.error?.code, attempts: report.attempts, events };
    };

    const t0 = Date.now();
    // Two refusals open the circuit in the first process.
    expect(await step()).toMatchObject({ code: 'CONNECTION_FAILED', attempts: 2 });
    expect(circuitStatesNow()).toEqual([{ endpoint, state: 'open' }]);
    expect(Date.now() - t0).toBeLessThan(6000);
    // The second process never connects: it fails fast at its first attempt.
    const second = await step();
    expect(second).toMatchObject({ code: 'CIRCUIT_OPEN', attempts: 1 });
    expect(second.events.some((e) => e.type === 'log' && e.meta?.circuit === endpoint)).toBe(false);
    // halfOpenAfter is long enough for a process to start (~1 s) but short for a test: wait it out.
    while (circuitStatesNow()[0]?.state === 'open') await sleep(100);
    expect(circuitStatesNow()).toEqual([{ endpoint, state: 'half-open' }]);
    // Past halfOpenAfter the next process probes (refused again): the log says so.
    const third = await step();
    expect(third).toMatchObject({ code: 'CIRCUIT_OPEN', attempts: 2 });
    const probe = third.events.find((e) => e.type === 'log' && e.meta?.circuit === endpoint);
    expect(probe?.type === 'log' && probe.message).toMatch(/the probe failed/);
    expect(circuitStatesNow()).toEqual([{ endpoint, state: 'open' }]);
    // The gauge needs no database: a platform without one will do.
    const metrics = createMetrics({} as Platform);
    expect(await metrics.registry.getSingleMetricAsString('sluice_circuit_state')).toContain(
      `sluice_circuit_state{endpoint="${endpoint}"} 2`,
    );
  });
});
