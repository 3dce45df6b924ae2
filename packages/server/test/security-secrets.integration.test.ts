import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { signBody } from '@sluice/connectors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { openPlatform } from '../src/platform.ts';
import { rotateMasterKey } from '../src/security/rotate.ts';
import { unseal } from '../src/security/secrets.ts';
import { totpCode } from '../src/security/totp.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { apiCaller, type TestPlatform, testPlatform, tokenFor, waitForJob } from './helpers/platform.ts';

// A value no one would type: if it shows up anywhere on disk or in an answer, it leaked.
const SECRET = 'Pl41ntext-S3cret-b7e1f0c2';
// The value of a variable the operator exposes to pipelines (`--pipeline-env`): a job's plan holds it.
const EXPOSED = 'Exp0sed-T0ken-5d9a3e81';
process.env.SECRETS_TEST_EXPOSED_TOKEN = EXPOSED;

let p: TestPlatform;
let app: App;
let worker: Worker;
beforeAll(async () => {
  p = await testPlatform('pglite', { pipelineEnv: ['SECRETS_TEST_EXPOSED_TOKEN'] });
  app = await buildApp(p, { rateLimit: 100_000 });
  worker = await startWorker(p, { killGraceMs: 1000 });
}, 60_000);
let closed = false;
afterAll(async () => {
  if (closed) return;
  await worker?.stop();
  await app?.close();
  await p?.close();
});
const call = apiCaller(
  () => app,
  () => p.adminToken,
);

async function pipeline(name: string, step: Record<string, unknown>): Promise<string> {
  const r = await call('POST', '/pipelines', { spec: { name, steps: [{ id: 'run', ...step }] } });
  expect(r.status, r.text).toBe(201);
  return r.body.id;
}

/** Every file under `dir` that holds `needle` anywhere in its bytes. */
function filesHolding(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const f = join(d, name);
      const st = statSync(f);
      if (st.isDirectory()) walk(f);
      else if (st.isFile() && readFileSync(f).includes(needle)) hits.push(f);
    }
  };
  walk(dir);
  return hits;
}

describe('webhooks', () => {
  it('run the pipeline for a body signed with its secret, and refuse anything else', async () => {
    const id = await pipeline('hooked', { task: 'shell', with: { command: ['true'] } });
    const unset = await app.inject({ method: 'POST', url: `/api/v1/hooks/${id}`, payload: '{}' });
    expect(unset.statusCode).toBe(401);
    const made = await call('POST', `/pipelines/${id}/webhook`);
    expect(made.body).toMatchObject({ path: `/api/v1/hooks/${id}`, header: 'X-Sluice-Signature' });
    const secret = made.body.secret as string;
    const body = JSON.stringify({ parameters: {}, event: 'push' });
    const hook = (signature?: string, payload = body) =>
      app.inject({
        method: 'POST',
        url: `/api/v1/hooks/${id}`,
        headers: {
          'content-type': 'application/json',
          ...(signature ? { 'x-sluice-signature': signature } : {}),
        },
        payload,
      });
    expect((await hook()).statusCode).toBe(401);
    expect((await hook(signBody('some-other-secret', body))).statusCode).toBe(401);
    expect((await hook(signBody(secret, body), `${body} `)).statusCode, 'a changed body').toBe(401);
    const nul = JSON.stringify({ parameters: { a: 'x\u0000' } });
    const refused = await hook(signBody(secret, nul), nul);
    expect(refused.statusCode, 'NUL in a parameter').toBe(400);
    expect(JSON.parse(refused.body).error.details[0].path).toBe('body.parameters.a');
    const ok = await hook(signBody(secret, body));
    expect(ok.statusCode, ok.body).toBe(202);
    const job = await waitForJob(p, JSON.parse(ok.body).jobId);
    expect(job).toMatchObject({ status: 'success', triggerType: 'webhook', triggeredBy: 'webhook' });
    // A new secret replaces the old one.
    await call('POST', `/pipelines/${id}/webhook`);
    expect((await hook(signBody(secret, body))).statusCode).toBe(401);
  }, 60_000);
});

describe('credentials in steps', () => {
  it('reach only the step that names them, masked in its logs; nothing on disk holds them in clear', async () => {
    const cred = await call('POST', '/credentials', {
      name: 'api-key',
      connectorType: 'shell',
      data: { env: { API_KEY: SECRET } },
    });
    expect(cred.status).toBe(201);
    const missing = await call('POST', '/pipelines', {
      spec: {
        name: 'no-cred',
        steps: [{ id: 'x', task: 'shell', credential: 'nope', with: { command: ['true'] } }],
      },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details[0]).toMatchObject({ path: 'spec.steps[0].credential' });

    const id = await pipeline('leaky', {
      task: 'shell',
      credential: 'api-key',
      with: {
        command: [
          'sh',
          '-c',
          'echo "the key is $API_KEY"; echo "stderr has $API_KEY" >&2',
          '${env.SECRETS_TEST_EXPOSED_TOKEN}',
        ],
      },
    });
    const run = await call('POST', `/pipelines/${id}/execute`, {});
    const job = await waitForJob(p, run.body.jobId);
    expect(job.status).toBe('success');
    // The job ran by the plan stored when it was made, sealed: it holds the exposed variable's value.
    expect(job.plan).not.toContain(EXPOSED);
    expect(job.plan).not.toContain(SECRET);
    const plan = await unseal(p.masterKey, job.plan!);
    // It names the credential, never its fields, which only the step's process merges in.
    expect(plan).toMatchObject({
      format: 1,
      steps: [
        {
          id: 'run',
          task: {
            connector: 'shell',
            credential: 'api-key',
            config: { command: ['sh', '-c', expect.any(String), EXPOSED] },
          },
        },
      ],
    });
    expect(JSON.stringify(plan)).not.toContain(SECRET);
    const [planned] = (plan as { steps: { task: { config: object } }[] }).steps;
    expect(planned!.task.config).not.toHaveProperty('env');
    const logs = await call('GET', `/jobs/${run.body.jobId}/logs?limit=500`);
    expect(logs.text).toContain('the key is ********');
    expect(logs.text).toContain('stderr has ********');
    expect(logs.text).not.toContain(SECRET);
    for (const path of ['/jobs', `/jobs/${run.body.jobId}`, `/jobs/${run.body.jobId}/steps`, '/credentials'])
      expect((await call('GET', path)).text, path).not.toContain(SECRET);
    const used = await call('GET', '/audit?action=credential.use');
    expect(used.body.items[0]).toMatchObject({
      username: expect.stringMatching(/^worker:/),
      newValue: { name: 'api-key', jobId: run.body.jobId, stepId: 'run' },
    });

    // A TOTP secret and a webhook secret are sealed the same way.
    const enrol = await call('POST', '/auth/totp/enroll');
    await call('POST', '/auth/totp/verify', { code: totpCode(enrol.body.secret) });
    const hook = await call('POST', `/pipelines/${id}/webhook`);

    await worker.stop();
    await app.close();
    await p.close(); // PGlite writes everything out: now the files are what a thief would read
    closed = true;
    for (const needle of [SECRET, EXPOSED, enrol.body.secret as string, hook.body.secret as string])
      expect(filesHolding(p.dataDir, needle), needle).toEqual([]);

    // Every sealed value survives a key rotation, under the new key only.
    const reopened = await openPlatform({ dataDir: p.dataDir, registry: p.registry });
    const rotated = await rotateMasterKey(reopened.database, {
      oldKey: reopened.masterKey,
      dataDir: p.dataDir,
      keyFromFile: true,
    });
    expect(rotated).toMatchObject({ credentials: 1, totpSecrets: 1, webhookSecrets: 2, jobPlans: 2 });
    await reopened.close();
    // A process started with the old key refuses to start, instead of failing every job later.
    process.env.SLUICE_MASTER_KEY = reopened.masterKey;
    try {
      await expect(openPlatform({ dataDir: p.dataDir, registry: p.registry })).rejects.toThrow(
        /the stored credential "[^"]+" cannot be decrypted with this master key.*same SLUICE_MASTER_KEY/,
      );
    } finally {
      delete process.env.SLUICE_MASTER_KEY;
    }
    const after = await openPlatform({ dataDir: p.dataDir, registry: p.registry });
    try {
      expect(after.masterKey).toBe(rotated.newKey);
      app = await buildApp(after);
      // Access tokens are signed with a key derived from the master key: the old ones end too.
      expect((await app.inject({ url: '/api/v1/credentials', headers: p.auth })).statusCode).toBe(401);
      const token = await tokenFor(after, 'admin');
      const list = await app.inject({
        url: '/api/v1/credentials',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(JSON.parse(list.body).items[0].fields).toEqual({ env: '********' });
      const [row] = await after.database.query<{ action: string }>(
        "SELECT action FROM audit_log WHERE action = 'keys.rotate'",
      );
      expect(row).toBeDefined();
    } finally {
      await app.close();
      await after.close();
    }
  }, 120_000);
});
