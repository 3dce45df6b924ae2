import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type SluiceError } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { openSink, readSource } from '../../test/harness.ts';
import { type Sshd, startSshd } from '../../test/sshd.ts';
import { csvSource } from '../csv/source.ts';
import { ndjsonSink } from '../ndjson/sink.ts';
import { openLocation } from './index.ts';
import type { SftpOptions } from './options.ts';
import type { Location } from './types.ts';

let sshd: Sshd;
let local: string;
beforeAll(async () => {
  sshd = await startSshd();
  local = await mkdtemp(join(tmpdir(), 'sluice-sftp-local-'));
}, 30_000);
afterAll(async () => {
  await sshd?.close();
  await rm(local, { recursive: true, force: true });
});

const ctx = { baseDir: '/nonexistent', stepId: 'test' };
const signal = new AbortController().signal;
const url = (path: string) => `sftp://${sshd.user}@127.0.0.1:${sshd.port}${sshd.root}/${path}`;
const good = (): SftpOptions => ({ privateKey: sshd.privateKey, hostKey: sshd.hostKeyFingerprint });

async function using<T>(options: SftpOptions, f: (l: Location) => Promise<T>, path = url('x')): Promise<T> {
  const location = await openLocation(path, { sftp: options }, ctx, 'test.0:csv: config.path');
  try {
    return await f(location);
  } finally {
    await location.close();
  }
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts).toString();
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: SluiceError) => e,
  );

describe('sftp location', () => {
  it('stats, lists, reads ranges, puts atomically and deletes over one connection', async () => {
    await mkdir(join(sshd.root, 'a/deep'), { recursive: true });
    await writeFile(join(sshd.root, 'a/one.csv'), '0123456789');
    await writeFile(join(sshd.root, 'a/deep/two.csv'), 'xy');
    await writeFile(join(sshd.root, 'a/other.txt'), '');
    await using(good(), async (l) => {
      expect(l.scheme).toBe('sftp');
      const st = await l.stat(url('a/one.csv'), signal);
      expect(st).toMatchObject({ url: url('a/one.csv'), size: 10 });
      expect(st.modified).toBeInstanceOf(Date);

      const all = [];
      for await (const e of l.list(url('a/'), signal)) all.push([e.url, e.size]);
      expect(all.sort()).toEqual([
        [url('a/deep/two.csv'), 2],
        [url('a/one.csv'), 10],
        [url('a/other.txt'), 0],
      ]);
      const prefixed = [];
      for await (const e of l.list(url('a/o'), signal)) prefixed.push(e.url);
      expect(prefixed.sort()).toEqual([url('a/one.csv'), url('a/other.txt')]);
      const none = [];
      for await (const e of l.list(url('missing/'), signal)) none.push(e);
      expect(none).toEqual([]);

      expect(await collect(l.read(url('a/one.csv'), { start: 3, end: 7, signal }))).toBe('3456');
      expect(await collect(l.read(url('a/one.csv'), { start: 8, signal }))).toBe('89');
      expect(await collect(l.read(url('a/one.csv'), { start: 5, end: 5, signal }))).toBe('');

      const from = join(local, 'upload.txt');
      await writeFile(from, 'fresh content');
      await l.put(url('b/new/up.txt'), from, signal);
      expect(await readFile(join(sshd.root, 'b/new/up.txt'), 'utf8')).toBe('fresh content');
      await writeFile(from, 'replaced');
      await l.put(url('b/new/up.txt'), from, signal);
      expect(await readFile(join(sshd.root, 'b/new/up.txt'), 'utf8')).toBe('replaced');
      const left = [];
      for await (const e of l.list(url('b/'), signal)) left.push(e.url);
      expect(left).toEqual([url('b/new/up.txt')]);

      await l.delete(url('b/new/up.txt'), signal);
      expect(existsSync(join(sshd.root, 'b/new/up.txt'))).toBe(false);
      await l.delete(url('b/new/up.txt'), signal);
    });
  });

  it('leaves the target and no temporary file behind when a put fails, and stops a read on abort', async () => {
    await mkdir(join(sshd.root, 'c/target'), { recursive: true });
    await writeFile(join(sshd.root, 'c/target/inside.txt'), 'keep');
    await writeFile(join(sshd.root, 'c/big.bin'), Buffer.alloc(1 << 20, 7));
    const from = join(local, 'small.txt');
    await writeFile(from, 'new');
    await using(good(), async (l) => {
      // A non-empty directory cannot be renamed over: the upload succeeds, the rename fails.
      await expect(l.put(url('c/target'), from, signal)).rejects.toThrow();
      const left = [];
      for await (const e of l.list(url('c/'), signal)) left.push(e.url);
      expect(left.sort()).toEqual([url('c/big.bin'), url('c/target/inside.txt')]);

      const stop = new AbortController();
      let got = 0;
      const reading = (async () => {
        for await (const c of l.read(url('c/big.bin'), { signal: stop.signal, chunkSize: 1024 })) {
          got += c.length;
          stop.abort(new Error('cancelled by test'));
        }
      })();
      await expect(reading).rejects.toThrow('cancelled by test');
      expect(got).toBeLessThan(1 << 20);
      // The connection is still good after the abandoned read.
      expect((await l.stat(url('c/big.bin'), signal)).size).toBe(1 << 20);
    });
  });

  it('names a missing file or a directory as NOT_FOUND', async () => {
    await mkdir(join(sshd.root, 'dir'), { recursive: true });
    await using(good(), async (l) => {
      const missing = await failure(l.stat(url('nope.csv'), signal));
      expect(missing.code).toBe(ErrorCode.NOT_FOUND);
      expect(missing.message).toContain(url('nope.csv'));
      const dir = await failure(l.stat(url('dir'), signal));
      expect(dir.code).toBe(ErrorCode.NOT_FOUND);
      expect(dir.message).toMatch(/is a directory/);
      const read = await failure(collect(l.read(url('nope.csv'), { signal })));
      expect(read.code).toBe(ErrorCode.NOT_FOUND);
    });
  });

  it('refuses a server whose host key is not the pinned one, naming both fingerprints', async () => {
    const pinned = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const err = await failure(using({ ...good(), hostKey: pinned }, (l) => l.stat(url('x'), signal)));
    expect(err.code).toBe(ErrorCode.CONFIG);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(pinned);
    expect(err.message).toContain(sshd.hostKeyFingerprint);
  });

  it('refuses a wrong key or password as CONFIG without showing the secret', async () => {
    const other = join(local, 'other_key');
    const { execFileSync } = await import('node:child_process');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const privateKey = await readFile(other, 'utf8');
    const err = await failure(using({ privateKey }, (l) => l.stat(url('x'), signal)));
    expect(err.code).toBe(ErrorCode.CONFIG);
    expect(err.message).toContain(`authentication failed for ${sshd.user}@127.0.0.1:${sshd.port}`);
    expect(err.message).not.toContain(privateKey.split('\n')[1]!);
    const secret = 'hunter2-secret';
    const byPassword = await failure(using({ password: secret }, (l) => l.stat(url('x'), signal)));
    expect(byPassword.code).toBe(ErrorCode.CONFIG);
    expect(byPassword.message).not.toContain(secret);
  });

  it('asks for a user when neither the URL nor sftp.username names one', async () => {
    const anonymous = `sftp://127.0.0.1:${sshd.port}${sshd.root}/x`;
    const err = await failure(using(good(), (l) => l.stat(anonymous, signal), anonymous));
    expect(err.code).toBe(ErrorCode.CONFIG);
    expect(err.message).toMatch(/names no user/);
    await writeFile(join(sshd.root, 'x'), 'abc');
    const named = await using(
      { ...good(), username: sshd.user },
      (l) => l.stat(anonymous, signal),
      anonymous,
    );
    expect(named.size).toBe(3);
  });

  it('reports a server that does not answer as a retryable CONNECTION failure', async () => {
    const closed = `sftp://root@127.0.0.1:1${sshd.root}/x`;
    const err = await failure(using(good(), (l) => l.stat(closed, signal), closed));
    expect(err.code).toBe(ErrorCode.CONNECTION);
    expect(err.retryable).toBe(true);
  });

  it('feeds the csv source one file or a glob', async () => {
    await mkdir(join(sshd.root, 'in/2026'), { recursive: true });
    await writeFile(join(sshd.root, 'in/in.csv'), 'id,name\n1,Ann\n2,Bob\n');
    await writeFile(join(sshd.root, 'in/2026/b.csv'), 'id,name\n3,Cy\n');
    await writeFile(join(sshd.root, 'in/2026/c.csv'), 'id,name\n4,Di\n');
    const one = await readSource(csvSource, { path: url('in/in.csv'), sftp: good() });
    expect(one.rows.map((r) => r.name)).toEqual(['Ann', 'Bob']);
    expect(one.harness.origin).toBe(url('in/in.csv'));
    const many = await readSource(csvSource, { path: url('in/**/*.csv'), sftp: good() });
    expect(many.rows.map((r) => r.name)).toEqual(['Cy', 'Di', 'Ann', 'Bob']);
  });

  it('publishes an ndjson sink to the server only when it closes', async () => {
    const staging = process.env.SLUICE_STAGING_DIR;
    process.env.SLUICE_STAGING_DIR = join(local, 'staging');
    onTestFinished(() => {
      if (staging === undefined) delete process.env.SLUICE_STAGING_DIR;
      else process.env.SLUICE_STAGING_DIR = staging;
    });
    const target = join(sshd.root, 'out/rows.ndjson');
    const { writer } = await openSink(ndjsonSink, { path: url('out/rows.ndjson'), sftp: good() });
    await writer.start(undefined);
    await writer.write([{ id: 1 }, { id: 2, name: 'x' }]);
    await writer.commit({ seq: 1, position: 2 });
    expect(existsSync(target)).toBe(false);
    await writer.close();
    expect(await readFile(target, 'utf8')).toBe('{"id":1}\n{"id":2,"name":"x"}\n');
  });
});
