import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { awsEnv, type S3Server, startS3 } from '../../connectors/test/s3-server.ts';
import { sluice, startSluice } from './helpers.ts';

// Issue 16: `sluice serve --artifacts s3://bucket/prefix`, configured like the AWS CLI.

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3();
  await s3.bucket('artifacts');
  const { AWS_ENDPOINT_URL_S3: endpoint, ...keys } = awsEnv(s3);
  // The endpoint for every service, which the S3 one (the server's test sets) would override.
  Object.assign(process.env, keys, { AWS_ENDPOINT_URL: endpoint });
});
afterAll(async () => {
  await s3?.close();
});

const dataDir = () => mkdtempSync(join(tmpdir(), 'sluice-serve-artifacts-'));
const port = () => String(20000 + Math.floor(Math.random() * 20000));

it('refuses to start when the bucket is missing, the keys are refused or the scheme is not a store', async () => {
  const missing = await sluice([
    'serve',
    '--data-dir',
    dataDir(),
    '--port',
    port(),
    '--artifacts',
    's3://nope/x',
  ]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/artifacts store s3:\/\/nope\/x: bucket "nope" does not exist at http/);
  const denied = await sluice(['worker', '--data-dir', dataDir(), '--artifacts', 's3://artifacts/x'], {
    env: { AWS_ACCESS_KEY_ID: 'NOBODY' },
  });
  expect(denied.code).toBe(1);
  expect(denied.stderr).toMatch(/access denied to s3:\/\/artifacts .*with access key id NOBODY/);
  const sftp = await sluice(['serve', '--data-dir', dataDir(), '--port', port()], {
    env: { SLUICE_ARTIFACTS: 'sftp://host/dir' },
  });
  expect(sftp.code).toBe(1);
  expect(sftp.stderr).toMatch(
    /sftp:\/\/ is not supported there; give s3:\/\/bucket\/prefix or a local directory/,
  );
}, 60_000);

it('serves with its artifacts in the bucket named by SLUICE_ARTIFACTS', async () => {
  process.env.SLUICE_ARTIFACTS = 's3://artifacts/platform';
  try {
    const { child, banner } = await startSluice(['serve', '--data-dir', dataDir(), '--port', port()]);
    expect(banner).toContain('job logs and artifacts: s3://artifacts/platform');
    child.kill('SIGTERM');
    expect(await new Promise((r) => child.once('exit', r))).toBe(0);
  } finally {
    delete process.env.SLUICE_ARTIFACTS;
  }
}, 60_000);
