import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type Row, SluiceError } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvSink, csvSource, ndjsonSink, ndjsonSource } from '../src/index.ts';
import { openLocation } from '../src/location/index.ts';
import { cliSinkConformance, cliSourceConformance } from './conformance-cli.ts';
import { openSink, readSource } from './harness.ts';
import { S3RVER_KEYS, type S3Server, startS3 } from './s3-server.ts';
import { type Sshd, startSshd } from './sshd.ts';

// The file connectors on each remote location, through the CLI: the format does not matter to a
// location (one code path for all), so one format per location and direction is enough here.

let s3: S3Server;
let sshd: Sshd;
let http: Server;
let httpBase: string;
let dir: string;
const previousStaging = process.env.SLUICE_STAGING_DIR;
const TOKEN = 'conformance-http-T0ken';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-conf-remote-'));
  process.env.SLUICE_STAGING_DIR = join(dir, 'staging');
  [s3, sshd] = await Promise.all([startS3(), startSshd()]);
  await s3.bucket('conf');
  http = createServer((req, res) => {
    // /files/<name> serves the file with ranges; /auth/<name> wants a token no case has.
    const [, mode, name] = /^\/(files|auth)\/([\w.-]+)$/.exec(req.url ?? '') ?? [];
    if (mode === 'auth') return void res.writeHead(401).end('unauthorised');
    readFile(join(dir, name ?? '-'))
      .then((body) => {
        const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
        const from = m ? Number(m[1]) : 0;
        const to = m?.[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
        const part = body.subarray(from, to + 1);
        const headers = { 'accept-ranges': 'bytes', etag: `"${body.length}"`, 'content-length': part.length };
        if (m) res.writeHead(206, { ...headers, 'content-range': `bytes ${from}-${to}/${body.length}` });
        else res.writeHead(200, headers);
        res.end(req.method === 'HEAD' ? undefined : part);
      })
      .catch(() => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpBase = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  if (previousStaging === undefined) delete process.env.SLUICE_STAGING_DIR;
  else process.env.SLUICE_STAGING_DIR = previousStaging;
  http?.closeAllConnections();
  await new Promise((resolve) => http?.close(resolve));
  await Promise.all([s3?.close(), sshd?.close()]);
  await rm(dir, { recursive: true, force: true });
});

const s3opts = () => ({ endpoint: s3.endpoint, ...S3RVER_KEYS, region: 'us-east-1' });
const sftpUrl = (name: string) => `sftp://${sshd.user}@127.0.0.1:${sshd.port}${sshd.root}/${name}`;
const sftpOpts = () => ({ privateKey: sshd.privateKey, hostKey: sshd.hostKeyFingerprint });
const csvOf = (rows: Row[]) =>
  `id,name\n${rows.map((r) => `${r.id},"${String(r.name).replaceAll('"', '""')}"\n`).join('')}`;
let files = 0;
const unique = (ext: string) => `f${files++}-${Date.now()}.${ext}`;

/** Puts `content` at a remote `url` through the location under test's own code. */
async function put(url: string, content: string, options: Record<string, unknown>): Promise<void> {
  const from = join(dir, unique('up'));
  await writeFile(from, content);
  const l = await openLocation(url, options, { baseDir: dir, stepId: 'setup' }, 'setup');
  try {
    await l.put(url, from, new AbortController().signal);
  } finally {
    await l.close();
  }
}

cliSourceConformance('csv on S3', 'csv', {
  async input(rows) {
    const path = `s3://conf/${unique('csv')}`;
    await put(path, csvOf(rows), { s3: s3opts() });
    return { path, s3: s3opts(), batchSize: 50, schema: { id: 'integer' } };
  },
  // A wrong secret, and a file that is not there: the run fails with the secret in its config.
  secret: {
    secret: 'conformance-wrong-S3-secret',
    config: () => ({
      path: 's3://conf/missing.csv',
      s3: { ...s3opts(), secretAccessKey: 'conformance-wrong-S3-secret' },
    }),
  },
});

cliSinkConformance('ndjson on S3', 'ndjson', {
  output: async () => ({ path: `s3://conf/${unique('ndjson')}`, s3: s3opts() }),
  readBack: async (c) => (await readSource(ndjsonSource, { path: c.path, s3: s3opts() })).rows,
  verify: 'content',
  resumable: true,
  // s3rver took an upload signed with a wrong secret (seen here), so the upload is made to fail on
  // a bucket that does not exist, with the secret in the config all the same.
  secret: {
    secret: 'conformance-wrong-S3-secret',
    config: () => ({
      path: 's3://no-such-bucket/out.ndjson',
      s3: { ...s3opts(), secretAccessKey: 'conformance-wrong-S3-secret' },
    }),
  },
});

// sshd offers key authentication only: a password, however secret, is refused.
const sftpSecret = (name: string) => ({
  secret: 'conformance-sftp-Passw0rd',
  config: () => ({ path: sftpUrl(name), sftp: { password: 'conformance-sftp-Passw0rd' } }),
});

cliSourceConformance('ndjson on SFTP', 'ndjson', {
  async input(rows) {
    const path = sftpUrl(unique('ndjson'));
    await put(path, rows.map((r) => `${JSON.stringify(r)}\n`).join(''), { sftp: sftpOpts() });
    return { path, sftp: sftpOpts(), batchSize: 50 };
  },
  secret: sftpSecret('in.ndjson'),
});

cliSinkConformance('csv on SFTP', 'csv', {
  output: async () => ({ path: sftpUrl(unique('csv')), sftp: sftpOpts() }),
  readBack: async (c) =>
    (await readSource(csvSource, { path: c.path, sftp: sftpOpts(), schema: { id: 'integer' } })).rows,
  verify: 'content',
  resumable: true,
  secret: sftpSecret('out.csv'),
});

cliSourceConformance('csv over HTTP', 'csv', {
  async input(rows) {
    const name = unique('csv');
    await writeFile(join(dir, name), csvOf(rows));
    return { path: `${httpBase}/files/${name}`, batchSize: 50, schema: { id: 'integer' } };
  },
  secret: {
    secret: TOKEN,
    config: () => ({ path: `${httpBase}/auth/in.csv`, http: { bearerToken: TOKEN } }),
  },
});

describe('HTTP is read-only: a sink there is refused, said so, not skipped', () => {
  for (const def of [csvSink, ndjsonSink])
    it(`${def.name} refuses an http(s) path with a clear error`, async () => {
      const err = await (async () => {
        const { writer } = await openSink(def, { path: `${httpBase}/files/out.${def.name}` });
        await writer.start(undefined);
        await writer.write([{ id: 1 }]);
        await writer.close();
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).code).toBe(ErrorCode.CONFIG);
      expect((err as SluiceError).message).toMatch(/read-only|cannot write/i);
    });
});
