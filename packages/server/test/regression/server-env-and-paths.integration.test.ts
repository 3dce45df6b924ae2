import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/api/app.ts';
import { PIPELINE_ENV_NOTE, pipelineEnv } from '../../src/security/pipeline-env.ts';
import { startWorker, type Worker } from '../../src/worker/worker.ts';
import { backends } from '../helpers/backends.ts';
import { apiCaller, type TestPlatform, testPlatform, tokenFor, waitForJob } from '../helpers/platform.ts';

// Issue 13: `${env.SLUICE_MASTER_KEY}` validated "ok" for any viewer (the platform resolved
// `${env.X}` against its own environment), and job errors named the server's directories.

const flow = (name: string, path: string, out = 'out.ndjson') => ({
  name,
  flow: [
    { source: 'csv', with: { path } },
    { sink: 'ndjson', with: { path: out } },
  ],
});

describe('the variables exposed to pipelines', () => {
  it('are names and prefixes, never Sluice’s own', () => {
    const env = { ETL_A: '1', ETL_B: '2', HOME: '/root', SLUICE_MASTER_KEY: 'k' };
    expect(pipelineEnv(['ETL_*'], env)).toEqual({ ETL_A: '1', ETL_B: '2' });
    expect(pipelineEnv(['HOME', 'NOPE'], env)).toEqual({ HOME: '/root' });
    expect(pipelineEnv([], env)).toEqual({});
    for (const bad of [['SLUICE_MASTER_KEY'], ['SLU*'], ['*'], ['A B']])
      expect(() => pipelineEnv(bad, env)).toThrow(/pipeline-env/);
  });
});

describe.each(backends)('environment and paths on $name', ({ name }) => {
  let p: TestPlatform;
  let app: App;
  let worker: Worker;
  let viewer: ReturnType<typeof apiCaller>;
  let admin: ReturnType<typeof apiCaller>;
  beforeAll(async () => {
    process.env.ETL_TEST_OUT = 'exposed.ndjson';
    process.env.ETL_HIDDEN_TEST = 'hidden';
    p = await testPlatform(name, { pipelineEnv: ['ETL_TEST_*'] });
    writeFileSync(join(p.filesDir, 'in.csv'), 'n\n1\n2\n');
    app = await buildApp(p, { uiDir: false });
    worker = await startWorker(p, { killGraceMs: 1000 });
    const token = await tokenFor(p, 'viewer');
    viewer = apiCaller(
      () => app,
      () => token,
    );
    admin = apiCaller(
      () => app,
      () => p.adminToken,
    );
  });
  afterAll(async () => {
    await worker.stop();
    await app.close();
    await p.close();
  });

  it('validates ${env.X} against the exposed variables only, and says the same of set and unset ones', async () => {
    const created = await admin('POST', '/pipelines', { spec: flow('env-check', 'in.csv') });
    expect(created.status).toBe(201);
    const check = async (v: string) =>
      (
        await viewer('POST', `/pipelines/${created.body.id}/validate`, {
          spec: flow('env-check', 'in.csv', v),
        })
      ).body;
    const secret = await check('${env.SLUICE_MASTER_KEY}');
    const home = await check('${env.HOME}');
    const hidden = await check('${env.ETL_HIDDEN_TEST}');
    const missing = await check('${env.NEVER_SET_ANYWHERE}');
    for (const r of [secret, home, hidden, missing]) {
      expect(r.ok).toBe(false);
      expect(r.issues[0].message).toContain(PIPELINE_ENV_NOTE);
    }
    const words = (r: typeof secret, v: string) => r.issues[0].message.replace(v, 'X');
    expect(words(secret, 'SLUICE_MASTER_KEY')).toBe(words(missing, 'NEVER_SET_ANYWHERE'));
    expect((await check('${env.ETL_TEST_OUT}')).ok).toBe(true);
  });

  it('runs with the exposed variables', async () => {
    const created = await admin('POST', '/pipelines', {
      spec: flow('env-run', 'in.csv', '${env.ETL_TEST_OUT}'),
    });
    const run = await admin('POST', `/pipelines/${created.body.id}/execute`, {});
    expect((await waitForJob(p, run.body.jobId)).status).toBe('success');
    expect(existsSync(join(p.filesDir, 'exposed.ndjson'))).toBe(true);
  });

  it('names files relative to the files root in what viewers read of a failed job', async () => {
    const created = await admin('POST', '/pipelines', { spec: flow('bad-path', 'bad/x.csv') });
    const run = await admin('POST', `/pipelines/${created.body.id}/execute`, {});
    expect((await waitForJob(p, run.body.jobId)).status).toBe('failed');
    const job = await viewer('GET', `/jobs/${run.body.jobId}`);
    const steps = await viewer('GET', `/jobs/${run.body.jobId}/steps`);
    const logs = await viewer('GET', `/jobs/${run.body.jobId}/logs`);
    expect(JSON.stringify(job.body.error)).toContain('bad/x.csv');
    for (const r of [job, steps, logs]) {
      expect(r.text).not.toContain(p.filesDir);
      expect(r.text).not.toContain(p.dataDir);
    }
  });
});
