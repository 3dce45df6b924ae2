import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunEvent } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { runStepProcess } from '../src/worker/step-process.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'sluice-step-'));
const fixture = join(import.meta.dirname, 'fixtures', 'hog.ts');

function base(workDir: string, spec: unknown, stepId: string) {
  return {
    spec,
    stepId,
    jobId: 'job-1',
    params: {},
    workDir,
    stateDir: join(workDir, '.state'),
    resume: false,
    env: { PATH: process.env.PATH ?? '' },
    signal: new AbortController().signal,
    onEvent: () => {},
  };
}

const alive = (marker: string) => {
  try {
    return execFileSync('pgrep', ['-f', marker], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
};

describe('a step in its own process', () => {
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
    expect(readFileSync(join(w, 'out.ndjson'), 'utf8').trim().split('\n')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'step').map((e) => (e as { status: string }).status)).toEqual([
      'running',
      'success',
    ]);
  });

  it('reports a failing step and a bad spec', async () => {
    const w = dir();
    const failing = { name: 'p', steps: [{ id: 's', task: 'shell', with: { command: ['false'] } }] };
    const r = await runStepProcess(base(w, failing, 's'));
    expect(r).toMatchObject({
      status: 'failed',
      error: { message: expect.stringMatching(/exited with code 1/) },
    });
    const bad = await runStepProcess(base(w, { name: 'p', steps: [{ id: 's', task: 'nope' }] }, 's'));
    expect(bad).toMatchObject({ status: 'failed', error: { code: 'CONFIG_INVALID' } });
  });

  it('cancels within seconds and leaves no process behind', async () => {
    const w = dir();
    const marker = `${Date.now()}.123`;
    const spec = { name: 'p', steps: [{ id: 's', task: 'shell', with: { command: ['sleep', marker] } }] };
    const ac = new AbortController();
    const started = Date.now();
    const pending = runStepProcess({
      ...base(w, spec, 's'),
      signal: ac.signal,
      killGraceMs: 1000,
      onEvent: (e) => {
        if (e.type === 'step' && e.status === 'running') setTimeout(() => ac.abort(), 200);
      },
    });
    const r = await pending;
    expect(r).toMatchObject({ status: 'cancelled', error: { code: 'ABORTED' } });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(alive(`sleep ${marker}`)).toBe(false);
  });

  it('times a step out, killing its children', async () => {
    const w = dir();
    const marker = `${Date.now()}.456`;
    const spec = { name: 'p', steps: [{ id: 's', task: 'shell', with: { command: ['sleep', marker] } }] };
    const r = await runStepProcess({ ...base(w, spec, 's'), timeoutMs: 500, killGraceMs: 500 });
    expect(r).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
    expect(alive(`sleep ${marker}`)).toBe(false);
  });

  it('says when a step runs out of memory', async () => {
    const w = dir();
    const spec = { name: 'p', steps: [{ id: 'big', task: 'hog' }] };
    const r = await runStepProcess({ ...base(w, spec, 'big'), memoryMb: 64, modules: [fixture] });
    expect(r.status).toBe('failed');
    expect(r.error!.message).toMatch(/ran out of memory \(limit 64 MB\)/);
  });
});
