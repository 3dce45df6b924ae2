import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type SluiceError } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_KEYS, type S3Server, startS3 } from '../../test/s3-server.ts';
import { openLocation } from './index.ts';
import type { S3Options } from './options.ts';
import type { Location } from './types.ts';

let s3: S3Server;
let dir: string;
let options: S3Options;
const signal = new AbortController().signal;
const ctx = { baseDir: '/', stepId: 'test' };

beforeAll(async () => {
  s3 = await startS3();
  await s3.bucket('loc');
  dir = await mkdtemp(join(tmpdir(), 'sluice-s3loc-'));
  options = { endpoint: s3.endpoint, ...S3RVER_KEYS, region: 'us-east-1' };
});
afterAll(async () => {
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `f` with a fresh location over the test server, closed after. */
async function withS3<T>(f: (l: Location) => Promise<T>, opts: S3Options = options): Promise<T> {
  const l = await openLocation('s3://loc/x', { s3: opts }, ctx, 'test: config.path');
  try {
    return await f(l);
  } finally {
    await l.close();
  }
}

let files = 0;
async function local(content: string | Buffer): Promise<string> {
  const path = join(dir, `f${files++}`);
  await writeFile(path, content);
  return path;
}

async function readAll(l: Location, url: string, range: { start?: number; end?: number } = {}) {
  const parts: Buffer[] = [];
  for await (const c of l.read(url, { ...range, signal })) parts.push(c);
  return Buffer.concat(parts).toString();
}

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('expected a failure'),
    (e: SluiceError) => e,
  );

describe('s3 location', () => {
  it('puts, stats, reads whole and in ranges, and deletes an object', async () => {
    await withS3(async (l) => {
      expect(l.scheme).toBe('s3');
      await l.put('s3://loc/a/hello.txt', await local('hello, world'), signal);
      const st = await l.stat('s3://loc/a/hello.txt', signal);
      expect(st).toMatchObject({ url: 's3://loc/a/hello.txt', size: 12 });
      expect(st.modified).toBeInstanceOf(Date);
      expect(st.etag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(await readAll(l, 's3://loc/a/hello.txt')).toBe('hello, world');
      expect(await readAll(l, 's3://loc/a/hello.txt', { start: 7 })).toBe('world');
      expect(await readAll(l, 's3://loc/a/hello.txt', { start: 2, end: 5 })).toBe('llo');
      expect(await readAll(l, 's3://loc/a/hello.txt', { end: 5 })).toBe('hello');
      expect(await readAll(l, 's3://loc/a/hello.txt', { start: 4, end: 4 })).toBe('');
      // A resumed read that had already reached the end reads nothing, not an error.
      expect(await readAll(l, 's3://loc/a/hello.txt', { start: 12 })).toBe('');
      await l.delete('s3://loc/a/hello.txt', signal);
      const gone = await errorOf(l.stat('s3://loc/a/hello.txt', signal));
      expect(gone.code).toBe(ErrorCode.NOT_FOUND);
    });
  });

  it('puts an empty file', async () => {
    await withS3(async (l) => {
      await l.put('s3://loc/empty.txt', await local(''), signal);
      expect((await l.stat('s3://loc/empty.txt', signal)).size).toBe(0);
      expect(await readAll(l, 's3://loc/empty.txt')).toBe('');
    });
  });

  it('lists every object below a prefix, at any depth, as s3:// urls', async () => {
    await withS3(async (l) => {
      const from = await local('x');
      for (const key of ['ls/a.csv', 'ls/sub/b.csv', 'ls/sub/deep/c.csv', 'lsx/other.csv']) {
        await l.put(`s3://loc/${key}`, from, signal);
      }
      const urls: string[] = [];
      for await (const e of l.list('s3://loc/ls/', signal)) {
        expect(e.size).toBe(1);
        urls.push(e.url);
      }
      expect(urls.sort()).toEqual([
        's3://loc/ls/a.csv',
        's3://loc/ls/sub/b.csv',
        's3://loc/ls/sub/deep/c.csv',
      ]);
      const none: unknown[] = [];
      for await (const e of l.list('s3://loc/nothing-here/', signal)) none.push(e);
      expect(none).toEqual([]);
    });
  });

  it('says which object or bucket is missing', async () => {
    await withS3(async (l) => {
      const key = await errorOf(l.stat('s3://loc/no/such.csv', signal));
      expect(key.code).toBe(ErrorCode.NOT_FOUND);
      expect(key.message).toContain('test: config.path: object not found: s3://loc/no/such.csv');
      const bucket = await errorOf(l.stat('s3://nobucket/such.csv', signal));
      expect(bucket.code).toBe(ErrorCode.NOT_FOUND);
      expect(bucket.message).toContain('bucket "nobucket" does not exist');
      const read = await errorOf(readAll(l, 's3://loc/no/such.csv'));
      expect(read.code).toBe(ErrorCode.NOT_FOUND);
      expect(read.message).toContain('s3://loc/no/such.csv');
    });
  });

  it('publishes a file over 5 MiB as a multipart upload, byte for byte', async () => {
    const big = randomBytes((5 << 20) + 12345);
    await withS3(async (l) => {
      await l.put('s3://loc/big.bin', await local(big), signal);
      const st = await l.stat('s3://loc/big.bin', signal);
      expect(st.size).toBe(big.length);
      const sent = s3.requests.filter((r) => r.startsWith('POST /loc/big.bin') || r.includes('partNumber'));
      expect(sent).toEqual([
        expect.stringMatching(/^POST \/loc\/big\.bin\?uploads/),
        expect.stringMatching(/^PUT \/loc\/big\.bin\?.*partNumber=[12]/),
        expect.stringMatching(/^PUT \/loc\/big\.bin\?.*partNumber=[12]/),
        expect.stringMatching(/^POST \/loc\/big\.bin\?.*uploadId=/),
      ]);
      const parts: Buffer[] = [];
      for await (const c of l.read('s3://loc/big.bin', { signal })) parts.push(c);
      expect(Buffer.concat(parts).equals(big)).toBe(true);
      const tail: Buffer[] = [];
      for await (const c of l.read('s3://loc/big.bin', { start: big.length - 10, signal })) tail.push(c);
      expect(Buffer.concat(tail).equals(big.subarray(big.length - 10))).toBe(true);
    });
  });

  it('leaves no object when a put is aborted, small or multipart', async () => {
    await withS3(async (l) => {
      const big = await local(randomBytes(12 << 20));
      const ac = new AbortController();
      const put = l.put('s3://loc/aborted.bin', big, ac.signal);
      // Aborted once the first part is on its way: parts are sent, the upload must not complete.
      while (!s3.requests.some((r) => r.startsWith('PUT /loc/aborted.bin?') && r.includes('partNumber'))) {
        await new Promise((r) => setTimeout(r, 2));
      }
      ac.abort();
      const err = await errorOf(put);
      expect((err as Error).name, err.message).toBe('AbortError');
      expect((await errorOf(l.stat('s3://loc/aborted.bin', signal))).code).toBe(ErrorCode.NOT_FOUND);
      // The multipart upload it had begun is aborted, not completed nor left to linger (and bill) on
      // the store. s3rver answers AbortMultipartUpload with 405 (it does not implement it); S3,
      // MinIO and Ceph delete the parts.
      const mine = s3.requests.filter((r) => r.includes('/loc/aborted.bin'));
      expect(mine[0]).toMatch(/^POST \/loc\/aborted\.bin\?uploads/);
      expect(mine).toContainEqual(expect.stringMatching(/^DELETE \/loc\/aborted\.bin\?uploadId=/));
      expect(mine).not.toContainEqual(expect.stringMatching(/^POST \/loc\/aborted\.bin\?uploadId=/));

      const before = new AbortController();
      before.abort();
      await expect(l.put('s3://loc/never.txt', await local('x'), before.signal)).rejects.toThrow();
      expect((await errorOf(l.stat('s3://loc/never.txt', signal))).code).toBe(ErrorCode.NOT_FOUND);
    });
  });

  // s3rver checks the access key id but not SigV4 signatures: an unknown key id is the denial it can show.
  it('tells denied credentials apart and never shows the secret', async () => {
    const secret = 'the-secret-8f2c-never-shown';
    await withS3(
      async (l) => {
        const err = await errorOf(l.stat('s3://loc/any.csv', signal));
        expect(err.code).toBe(ErrorCode.CONFIG);
        expect(err.message).toContain('access denied to s3://loc/any.csv');
        expect(err.message).toContain('access key id NOBODY from config s3.accessKeyId');
        expect(err.message).not.toContain(secret);
        const put = await errorOf(l.put('s3://loc/denied.txt', await local('x'), signal));
        expect(put.code).toBe(ErrorCode.CONFIG);
        expect(JSON.stringify({ m: put.message, s: put.stack })).not.toContain(secret);
      },
      { ...options, accessKeyId: 'NOBODY', secretAccessKey: secret },
    );
  });

  it('fails retryably with CONNECTION when the endpoint is down, through the circuit breaker', async () => {
    const guarded: string[] = [];
    const l = await openLocation(
      's3://loc/x',
      { s3: { ...options, endpoint: 'http://127.0.0.1:9' } },
      {
        ...ctx,
        guardConnect: (endpoint, connect) => {
          guarded.push(endpoint);
          return connect();
        },
      },
      'test: config.path',
    );
    try {
      const err = await errorOf(l.stat('s3://loc/a.csv', signal));
      expect(err.code).toBe(ErrorCode.CONNECTION);
      expect(err.retryable).toBe(true);
      expect(err.message).toContain('cannot reach S3 at http://127.0.0.1:9');
      expect(guarded).toEqual(['127.0.0.1:9']);
    } finally {
      await l.close();
    }
  }, 30_000);

  it('takes the endpoint, region and keys from the environment as the SDK does', async () => {
    const vars = ['AWS_ENDPOINT_URL_S3', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
    const saved = vars.map((v) => process.env[v]);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: 'eu-west-3',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    });
    try {
      await withS3(async (l) => {
        await l.put('s3://loc/env.txt', await local('from env'), signal);
        expect(await readAll(l, 's3://loc/env.txt')).toBe('from env');
      }, {});
      const signed = s3.requests.filter((r) => r.startsWith('PUT /loc/env.txt'));
      expect(signed).toHaveLength(1);
      // A denial names the key id the chain found, and where it came from.
      process.env.AWS_ACCESS_KEY_ID = 'ENVKEY';
      const err = await withS3((l) => errorOf(l.stat('s3://loc/env.txt', signal)), {});
      expect(err.code).toBe(ErrorCode.CONFIG);
      expect(err.message).toContain("access key id ENVKEY from the SDK's default chain");
    } finally {
      vars.forEach((v, i) => {
        if (saved[i] === undefined) delete process.env[v];
        else process.env[v] = saved[i];
      });
    }
  });

  it('refuses half a key pair, a bad endpoint, and a folder where an object is wanted', async () => {
    const { accessKeyId, ...noSecret } = { ...options, secretAccessKey: undefined };
    await expect(openLocation('s3://loc/x', { s3: { ...noSecret, accessKeyId } }, ctx, 'w')).rejects.toThrow(
      /s3\.accessKeyId and s3\.secretAccessKey go together/,
    );
    await expect(openLocation('s3://loc/x', { s3: { endpoint: 'minio:9000' } }, ctx, 'w')).rejects.toThrow(
      /invalid s3\.endpoint "minio:9000": write a URL such as http:\/\/127\.0\.0\.1:9000/,
    );
    await expect(openLocation('s3://loc/x', { s3: { sessionToken: 'tok' } }, ctx, 'w')).rejects.toThrow(
      /s3\.sessionToken belongs to a temporary key pair/,
    );
    await withS3(async (l) => {
      await expect(l.stat('s3://loc/', signal)).rejects.toThrow(/names a folder, not an object/);
    });
  });
});
