import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SluiceError } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FileOutput, type FileOutputOptions } from './file-output.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-fout-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
function output(opts: Partial<FileOutputOptions> = {}): FileOutput {
  return new FileOutput({
    path: join(dir, `out${n++}`, 'data.txt'),
    overwrite: true,
    signal: new AbortController().signal,
    where: 'test.1:sink: config.path',
    verify: 'count',
    syntax: 'lines',
    ...opts,
  });
}

async function code(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SluiceError);
  return (err as SluiceError).code;
}

describe('FileOutput', () => {
  it('writes to .partial, creating directories, and renames it at close', async () => {
    const out = output();
    await out.start(undefined);
    await out.append('a\n', 1);
    await out.append('b\n', 1);
    expect(existsSync(out.partialPath)).toBe(true);
    expect(existsSync(out.path)).toBe(false);
    const result = await out.close('end\n', 1);
    expect(result).toEqual({
      rowsWritten: 2,
      bytes: 8,
      location: out.path,
      verification: { level: 'count', rowsHanded: 2, rowsFound: 2 },
    });
    expect(await readFile(out.path, 'utf8')).toBe('a\nb\nend\n');
    expect(existsSync(out.partialPath)).toBe(false);
  });

  it('commit makes buffered text durable and counts bytes, not characters', async () => {
    const out = output();
    await out.start(undefined);
    await out.append('é🚚\n', 1);
    expect((await stat(out.partialPath)).size).toBe(0);
    expect(await out.commit()).toEqual({ bytes: 7, rows: 1, records: 1 });
    expect(await readFile(out.partialPath, 'utf8')).toBe('é🚚\n');
    await out.abort();
  });

  it('flushes large appends before commit, in order', async () => {
    const out = output();
    await out.start(undefined);
    const big = 'x'.repeat(700_000);
    await out.append(`${big}\n`, 1);
    await out.append(`${big}é\n`, 1);
    // The write runs in the background; it lands without a commit.
    await vi.waitFor(async () => expect((await stat(out.partialPath)).size).toBe(1_400_004));
    await out.append('tail\n', 1);
    await out.close();
    expect(await readFile(out.path, 'utf8')).toBe(`${big}\n${big}é\ntail\n`);
  });

  it('resumes by cutting .partial back to the committed length', async () => {
    const path = join(dir, 'resume', 'r.txt');
    const a = output({ path });
    await a.start(undefined);
    await a.append('one\n', 1);
    const state = await a.commit();
    await a.append('lost\n', 1);
    await a.commit();
    await a.append('never flushed\n', 1);
    await a.abort();
    expect(await readFile(a.partialPath, 'utf8')).toBe('one\nlost\n');

    const b = output({ path });
    expect(await b.start(state)).toEqual({ bytes: 4, rows: 1, records: 1 });
    expect(b.rows).toBe(1);
    await b.append('two\n', 1);
    // Rows before the checkpoint were acknowledged by the run that wrote them.
    expect(await b.close()).toMatchObject({ rowsWritten: 1, bytes: 8 });
    expect(await readFile(path, 'utf8')).toBe('one\ntwo\n');
  });

  it('refuses to resume when .partial is missing or shorter than the checkpoint', async () => {
    const missing = output();
    expect(await code(missing.start({ bytes: 10, rows: 2 }))).toBe('CHECKPOINT_INVALID');
    const short = output();
    await mkdir(join(short.path, '..'), { recursive: true });
    await writeFile(short.partialPath, 'abc');
    const err = await short.start({ bytes: 10, rows: 2 }).catch((e: Error) => e);
    expect((err as SluiceError).code).toBe('CHECKPOINT_INVALID');
    expect((err as Error).message).toMatch(/holds only 3 bytes.*rerun without --resume/);
    expect(await code(output().start({ bytes: -1 }))).toBe('CHECKPOINT_INVALID');
  });

  it('resuming from the final checkpoint of an output already renamed into place writes nothing', async () => {
    const first = output();
    await first.start(undefined);
    await first.append('a\nb\n', 2);
    const state = await first.commit();
    await first.close(']', 1);
    const again = new FileOutput({
      path: first.path,
      overwrite: true,
      signal: new AbortController().signal,
      where: 'w',
      verify: 'count',
      syntax: 'lines',
    });
    expect(await again.start(state)).toEqual(state);
    expect(await again.close(']')).toEqual({ rowsWritten: 0, bytes: 4, location: first.path });
    expect(await readFile(first.path, 'utf8')).toBe('a\nb\n]');
    // Rows for it mean the checkpoint was not the final one: refuse rather than lose them.
    const late = new FileOutput({
      path: first.path,
      overwrite: true,
      signal: new AbortController().signal,
      where: 'w',
      verify: 'count',
      syntax: 'lines',
    });
    await late.start(state);
    expect(await code(late.append('c\n', 1))).toBe('CHECKPOINT_INVALID');
  });

  it('a fresh start empties a .partial left by an earlier run', async () => {
    const out = output();
    await mkdir(join(out.path, '..'), { recursive: true });
    await writeFile(out.partialPath, 'stale data\n');
    await out.start(undefined);
    await out.append('new\n', 1);
    await out.close();
    expect(await readFile(out.path, 'utf8')).toBe('new\n');
  });

  it('with overwrite false refuses an existing file before writing anything', async () => {
    const path = join(dir, 'exists.txt');
    await writeFile(path, 'keep me');
    const out = output({ path, overwrite: false });
    const err = await out.start(undefined).catch((e: Error) => e);
    expect((err as SluiceError).code).toBe('CONFIG_INVALID');
    expect((err as Error).message).toContain('already exists and config.overwrite is false');
    expect(existsSync(out.partialPath)).toBe(false);
    expect(await readFile(path, 'utf8')).toBe('keep me');
  });

  it('with overwrite true replaces an existing file', async () => {
    const path = join(dir, 'replace.txt');
    await writeFile(path, 'old');
    const out = output({ path });
    await out.start(undefined);
    await out.append('new', 1);
    await out.close();
    expect(await readFile(path, 'utf8')).toBe('new');
  });

  it('rejects a directory as the output path', async () => {
    expect(await code(output({ path: dir }).start(undefined))).toBe('CONFIG_INVALID');
  });

  it('stops writing once the signal is aborted', async () => {
    const ac = new AbortController();
    const out = output({ signal: ac.signal });
    await out.start(undefined);
    await out.append('a\n', 1);
    ac.abort(new Error('cancelled'));
    await expect(out.commit()).rejects.toThrow('cancelled');
    await out.abort();
  });

  describe('verify', () => {
    it('content: reads the file back and reports equal digests', async () => {
      const out = output({ verify: 'content' });
      await out.start(undefined);
      await out.append('a\n', 1);
      await out.append('b\n', 1);
      const { verification } = await out.close();
      expect(verification).toMatchObject({ level: 'content', rowsHanded: 2, rowsFound: 2 });
      expect(verification!.found).toMatch(/^[0-9a-f]{16}$/);
      expect(verification!.found).toBe(verification!.handed);
    });

    it('content: a file altered between write and read-back fails the step and is not moved into place', async () => {
      const out = output({ verify: 'content' });
      await out.start(undefined);
      await out.append('alpha\nbeta\n', 2);
      await out.commit();
      // Same length, same records: only content verification can tell.
      await writeFile(out.partialPath, 'alpha\nbetA\n');
      const err = await out.close().catch((e: Error) => e);
      expect((err as SluiceError).code).toBe('INTEGRITY_FAILED');
      expect((err as Error).message).toMatch(
        /test\.1:sink: verify content failed for .*data\.txt\.partial: 2 rows both; checksum handed [0-9a-f]{16}, found [0-9a-f]{16}/,
      );
      expect(existsSync(out.path)).toBe(false);
    });

    it('count: a record lost between write and read-back fails the step', async () => {
      const out = output();
      await out.start(undefined);
      await out.append('a\nb\nc\n', 3);
      await out.commit();
      await writeFile(out.partialPath, 'a\nb\n');
      const err = await out.close().catch((e: Error) => e);
      expect((err as Error).message).toMatch(
        /verify count failed .*6 bytes written, 4 on disk.*handed 3 rows, found 2/,
      );
      expect(existsSync(out.path)).toBe(false);
    });

    it('content: the digest survives a resume, so the whole file is verified', async () => {
      const path = join(dir, 'resume-digest', 'r.csv');
      const a = output({ path, verify: 'content', syntax: 'csv' });
      await a.start(undefined);
      await a.append('"x\ny",1\n', 1);
      const state = await a.commit();
      expect(state.digest).toMatchObject({ records: 1 });
      await a.abort();
      const b = output({ path, verify: 'content', syntax: 'csv' });
      await b.start(state);
      await b.append('z,2\n', 1);
      const { verification } = await b.close();
      expect(verification).toMatchObject({ rowsHanded: 2, rowsFound: 2 });
      expect(verification!.found).toBe(verification!.handed);
    });
  });
});
