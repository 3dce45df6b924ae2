import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Static } from '@sinclair/typebox';
import type { TaskContext } from '@sluice/core';
import { SluiceError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { formatCommand, shellTask } from './task.ts';

type Config = Static<typeof shellTask.config>;

function context(config: Partial<Config> & Pick<Config, 'command'>, signal = new AbortController().signal) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-shell-'));
  const logs: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => void logs.push({ level, message });
  const ctx: TaskContext<Config> = {
    config: { allowFailure: false, saveOutput: false, ...config },
    signal,
    stepId: 'prep',
    componentId: 'prep.0:shell',
    baseDir: dir,
    workDir: dir,
    stepDir: join(dir, '.state'),
    filesDir: join(dir, '.state', 'files'),
    params: {},
    log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    quarantine() {},
  };
  return { ctx, dir, logs };
}

const alive = (pattern: string) => {
  try {
    return execFileSync('pgrep', ['-f', pattern]).toString().trim().length > 0;
  } catch {
    return false;
  }
};

describe('shell task', () => {
  it('runs a command in cwd and reports its output and exit code', async () => {
    const { ctx, dir, logs } = context({ command: ['wc', '-l', 'x.txt'], cwd: 'sub' });
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'x.txt'), 'a\nb\nc\n');
    const result = await shellTask.run(ctx);
    expect(result!.output).toBe('3 x.txt');
    expect(result!.metrics!.exitCode).toBe(0);
    expect(result!.metrics!.durationMs).toBeGreaterThanOrEqual(0);
    expect(logs).toEqual([{ level: 'info', message: '3 x.txt' }]);
  });

  it('keeps the last 20 lines of stdout and logs stderr as warnings', async () => {
    const { ctx, logs } = context({
      command: ['sh', '-c', 'seq 1 30; echo oops >&2'],
    });
    const result = await shellTask.run(ctx);
    expect(result!.output!.split('\n')).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 11)));
    expect(logs.filter((l) => l.level === 'warn')).toEqual([{ level: 'warn', message: 'oops' }]);
  });

  it('passes arguments literally, with extra env vars', async () => {
    const { ctx } = context({ command: ['echo', '$HOME', '*', 'a;b'], env: { EXTRA: 'x' } });
    expect((await shellTask.run(ctx))!.output).toBe('$HOME * a;b');
    const withEnv = context({ command: ['sh', '-c', 'echo "$EXTRA"'], env: { EXTRA: 'from env' } });
    expect((await shellTask.run(withEnv.ctx))!.output).toBe('from env');
  });

  it('fails with the exit code and the last stderr line', async () => {
    const { ctx } = context({ command: ['wc', '-l', 'missing file'] });
    const err = await shellTask.run(ctx).catch((e) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect(err.code).toBe('TASK_FAILED');
    expect(err.message).toMatch(
      /^prep\.0:shell: command `wc -l 'missing file'` exited with code 1: wc: 'missing file': No such file or directory$/,
    );
  });

  it('returns the exit code when failure is allowed', async () => {
    const { ctx } = context({ command: ['sh', '-c', 'exit 3'], allowFailure: true });
    expect((await shellTask.run(ctx))!.metrics!.exitCode).toBe(3);
  });

  it('says when the program is not found', async () => {
    const { ctx } = context({ command: ['no-such-program-xyz', 'a'] });
    const err = await shellTask.run(ctx).catch((e) => e);
    expect(err.message).toMatch(
      /cannot run `no-such-program-xyz a`: command not found: "no-such-program-xyz"/,
    );
  });

  it('says when the working directory is missing', async () => {
    const { ctx } = context({ command: ['true'], cwd: 'nope' });
    const err = await shellTask.run(ctx).catch((e) => e);
    expect(err.message).toMatch(/working directory .*nope of command `true` does not exist/);
  });

  it('stops a command at its timeout, children included', async () => {
    const marker = `sleep 31.${process.pid}`;
    const { ctx } = context({ command: ['sh', '-c', `${marker} & ${marker}; wait`], timeout: 300 });
    const t0 = Date.now();
    const err = await shellTask.run(ctx).catch((e) => e);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toMatch(/did not finish within 300 ms/);
    expect(alive(marker)).toBe(false);
  });

  it('stops a command on abort', async () => {
    const ac = new AbortController();
    const { ctx } = context({ command: ['sleep', '30'] }, ac.signal);
    setTimeout(() => ac.abort(new Error('cancelled')), 200);
    const t0 = Date.now();
    const err = await shellTask.run(ctx).catch((e) => e);
    expect(err.message).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('kills with SIGKILL a command that ignores SIGTERM', { timeout: 15_000 }, async () => {
    const { ctx } = context({ command: ['sh', '-c', "trap '' TERM; sleep 32 & wait; wait"], timeout: 200 });
    const t0 = Date.now();
    const err = await shellTask.run(ctx).catch((e) => e);
    expect(err.code).toBe('TIMEOUT');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(5000);
    expect(Date.now() - t0).toBeLessThan(9000);
  });

  it('formats commands as a person would type them', () => {
    expect(formatCommand(['wc', '-l', 'x.csv'])).toBe('wc -l x.csv');
    expect(formatCommand(['echo', "it's", '$HOME'])).toBe(`echo 'it'\\''s' '$HOME'`);
  });
});
