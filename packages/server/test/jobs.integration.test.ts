import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobExecutions } from '../src/db/schema.ts';
import { rotateMasterKey } from '../src/security/rotate.ts';
import { unseal } from '../src/security/secrets.ts';
import { createCredential } from '../src/services/credentials.ts';
import { cancelJob, executePipeline, jobPlan, listSteps, retryJob } from '../src/services/jobs.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { logKey } from '../src/worker/step-recorder.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { backends } from './helpers/backends.ts';
import { type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

// The value of a variable exposed to pipelines, and of a credential: neither may be in a job's row.
const EXPOSED = 'Exp0sed-J0b-T0ken-41c7';
const SECRET = 'Cr3dential-V4lue-9e02';
process.env.JOBS_TEST_EXPOSED_TOKEN = EXPOSED;

describe.each(backends)('jobs on $name', ({ name }) => {
  let p: TestPlatform;
  let worker: Worker;
  beforeAll(async () => {
    p = await testPlatform(name, { pipelineEnv: ['JOBS_TEST_EXPOSED_TOKEN'] });
    worker = await startWorker(p, { concurrency: 2, killGraceMs: 1000 });
  });
  afterAll(async () => {
    await worker.stop();
    await p.close();
  });

  it('runs a DAG of steps in processes and records rows, reports and logs', async () => {
    writeFileSync(join(p.filesDir, 'in.csv'), 'id,amount\n1,5\n2,50\n3,500\n');
    const pipeline = await createPipeline(
      p,
      {
        spec: {
          name: 'load',
          parameters: { type: 'object', properties: { min: { type: 'number', default: 0 } } },
          steps: [
            {
              id: 'copy',
              flow: [
                { source: 'csv', with: { path: 'in.csv' } },
                { transform: 'cast', with: { fields: { amount: 'number' } } },
                { transform: 'filter', with: { where: 'amount >= params.min' } },
                { sink: 'ndjson', with: { path: 'out.ndjson' } },
              ],
            },
            { id: 'count', needs: ['copy'], task: 'shell', with: { command: ['wc', '-l', 'out.ndjson'] } },
          ],
        },
      },
      'tester',
    );
    const jobId = await executePipeline(p, pipeline.id, { parameters: { min: 10 }, triggerType: 'manual' });
    const job = await waitForJob(p, jobId);
    expect(job).toMatchObject({ status: 'success', attempt: 1, parameters: { min: 10 } });
    // From the first start to the end, not from a moment taken after the run (a bug gave 0).
    expect(
      Math.abs(job.durationMs! - (job.completedAt!.getTime() - job.startedAt!.getTime())),
    ).toBeLessThanOrEqual(1);
    expect(job.durationMs).toBeGreaterThan(0);
    const steps = await listSteps(p, jobId);
    expect(
      steps.map((s) => s.stepId),
      'in the order they ran',
    ).toEqual(['copy', 'count']);
    const copy = steps.find((s) => s.stepId === 'copy')!;
    expect(copy).toMatchObject({
      status: 'success',
      rowsRead: 3,
      rowsWritten: 2,
      rowsFiltered: 1,
      progress: 100,
    });
    expect(steps.find((s) => s.stepId === 'count')).toMatchObject({ status: 'success', attempt: 1 });
    expect(readFileSync(join(p.filesDir, 'out.ndjson'), 'utf8').trim().split('\n')).toHaveLength(2);
    const log = await new Promise<string>((resolve) => {
      let text = '';
      p.store
        .read(logKey(jobId))
        .on('data', (c) => (text += c))
        .on('end', () => resolve(text));
    });
    expect(log).toMatch(/step copy success/);
    expect(log).toMatch(/job success/);
  });

  it('rejects bad parameters before queueing anything', async () => {
    const pipeline = await createPipeline(
      p,
      {
        spec: {
          name: 'typed',
          parameters: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
          steps: [{ id: 't', task: 'shell', with: { command: ['true'] } }],
        },
      },
      null,
    );
    await expect(
      executePipeline(p, pipeline.id, { parameters: { n: 'x' }, triggerType: 'api' }),
    ).rejects.toThrow(/n/);
  });

  it('fails dependents as skipped, then retries from the failed step only', async () => {
    const flag = join(p.filesDir, 'fixed');
    const pipeline = await createPipeline(
      p,
      {
        spec: {
          name: 'flaky',
          steps: [
            {
              id: 'first',
              task: 'shell',
              with: { command: ['sh', '-c', `echo run >> ${join(p.filesDir, 'first.log')}`] },
            },
            { id: 'second', needs: ['first'], task: 'shell', with: { command: ['test', '-e', flag] } },
            { id: 'third', needs: ['second'], task: 'shell', with: { command: ['true'] } },
          ],
        },
      },
      null,
    );
    const jobId = await executePipeline(p, pipeline.id, { triggerType: 'manual' });
    const failed = await waitForJob(p, jobId);
    expect(failed.status).toBe('failed');
    const statuses = async () =>
      Object.fromEntries((await listSteps(p, jobId)).map((s) => [s.stepId, s.status]));
    expect(await statuses()).toEqual({ first: 'success', second: 'failed', third: 'skipped' });
    writeFileSync(flag, '');
    await retryJob(p, jobId, true);
    const ok = await waitForJob(p, jobId, (s) => s === 'success' || s === 'failed');
    expect(ok.status).toBe('success');
    expect(await statuses()).toEqual({ first: 'success', second: 'success', third: 'success' });
    // The successful step kept its result and did not run again.
    expect(readFileSync(join(p.filesDir, 'first.log'), 'utf8')).toBe('run\n');
  });

  it('runs parallel branches and joins them; a step over its timeout fails the job as timeout', async () => {
    const t = join(p.filesDir, 'times.log');
    const branch = (id: string) => ({
      id,
      task: 'shell',
      // Each branch waits (up to 20 s) until both have started: run one after the other, the first
      // would end alone. No guess at how long a step process takes to start on a busy machine.
      with: {
        command: [
          'sh',
          '-c',
          `echo ${id}-start >> ${t}; for i in $(seq 200); do [ "$(grep -c start ${t})" -ge 2 ] && break; sleep 0.1; done; echo ${id}-end >> ${t}`,
        ],
      },
    });
    const pipeline = await createPipeline(
      p,
      {
        spec: {
          name: 'branches',
          steps: [
            branch('left'),
            branch('right'),
            { id: 'join', needs: ['left', 'right'], task: 'shell', with: { command: ['true'] } },
          ],
        },
      },
      null,
    );
    const job = await waitForJob(p, await executePipeline(p, pipeline.id, { triggerType: 'manual' }));
    expect(job.status).toBe('success');
    const lines = readFileSync(t, 'utf8').trim().split('\n');
    // Both branches started before either ended.
    expect(lines.slice(0, 2).sort()).toEqual(['left-start', 'right-start']);
    const slow = await createPipeline(
      p,
      {
        spec: {
          name: 'too-slow',
          steps: [{ id: 'nap', timeout: '300ms', task: 'shell', with: { command: ['sleep', '20'] } }],
        },
      },
      null,
    );
    const timedOut = await waitForJob(p, await executePipeline(p, slow.id, { triggerType: 'manual' }));
    expect(timedOut).toMatchObject({ status: 'timeout', error: { code: 'TIMEOUT' } });
  });

  it('hands running jobs back to the queue when its worker stops, and another worker finishes them', async () => {
    const flag = join(p.filesDir, 'handback');
    const pipeline = await createPipeline(
      p,
      {
        spec: {
          name: 'handback',
          steps: [
            {
              id: 'once',
              task: 'shell',
              with: { command: ['sh', '-c', `test -e ${flag} || { touch ${flag}; sleep 30; }`] },
            },
          ],
        },
      },
      null,
    );
    const jobId = await executePipeline(p, pipeline.id, { triggerType: 'manual' });
    while (!existsSync(flag)) await new Promise((r) => setTimeout(r, 50));
    await worker.stop({ graceMs: 100 });
    const [job] = await p.database.db.select().from(jobExecutions).where(eq(jobExecutions.id, jobId));
    expect(job).toMatchObject({ status: 'queued', attempt: 0 });
    worker = await startWorker(p, { concurrency: 2, killGraceMs: 1000 });
    const done = await waitForJob(p, jobId);
    expect(done).toMatchObject({ status: 'success', attempt: 1 });
  });

  it('cancels a running job within seconds', async () => {
    const pipeline = await createPipeline(
      p,
      { spec: { name: 'slow', steps: [{ id: 'wait', task: 'shell', with: { command: ['sleep', '60'] } }] } },
      null,
    );
    const jobId = await executePipeline(p, pipeline.id, { triggerType: 'manual' });
    await waitForJob(p, jobId, (s) => s === 'running');
    const steps = async () => (await listSteps(p, jobId))[0]!;
    while ((await steps()).status !== 'running') await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await cancelJob(p, jobId);
    const job = await waitForJob(p, jobId);
    expect(job.status).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect((await steps()).status).toBe('cancelled');
  });

  it('runs the plan stored when the job was made; a job made without one is planned from its spec', async () => {
    const pipeline = await createPipeline(
      p,
      {
        spec: {
          name: 'planned-once',
          parameters: {
            type: 'object',
            properties: { word: { type: 'string' }, file: { type: 'string' } },
            required: ['word', 'file'],
          },
          steps: [
            {
              id: 'say',
              task: 'shell',
              with: { command: ['sh', '-c', 'echo "$0" > "$1"', '${params.word}', '${params.file}'] },
            },
          ],
        },
      },
      null,
    );
    // No worker while the jobs wait: their rows can be changed before one is taken.
    await worker.stop();
    const stored = await executePipeline(p, pipeline.id, {
      parameters: { word: 'from-the-spec', file: 'stored.txt' },
      triggerType: 'manual',
    });
    const legacy = await executePipeline(p, pipeline.id, {
      parameters: { word: 'planned-late', file: 'legacy.txt' },
      triggerType: 'manual',
    });
    const [row] = await p.database.db.select().from(jobExecutions).where(eq(jobExecutions.id, stored));
    // Parameters are filled in once, when the job is made; the spec's placeholders are gone.
    const plan = (await unseal(p.masterKey, row!.plan!)) as {
      params: object;
      steps: { task: { config: { command: string[] } } }[];
    };
    expect(plan.params).toEqual({ word: 'from-the-spec', file: 'stored.txt' });
    expect(plan.steps[0]!.task.config.command).toEqual([
      'sh',
      '-c',
      'echo "$0" > "$1"',
      'from-the-spec',
      'stored.txt',
    ]);
    plan.steps[0]!.task.config.command[3] = 'from-the-plan';
    // Stored in clear, as a development build did for an hour before plans were sealed: it runs too.
    await p.database.db
      .update(jobExecutions)
      .set({ plan: JSON.stringify(plan) })
      .where(eq(jobExecutions.id, stored));
    await p.database.db.update(jobExecutions).set({ plan: null }).where(eq(jobExecutions.id, legacy));
    worker = await startWorker(p, { concurrency: 2, killGraceMs: 1000 });
    expect(await waitForJob(p, stored)).toMatchObject({ status: 'success' });
    expect(await waitForJob(p, legacy)).toMatchObject({ status: 'success' });
    expect(readFileSync(join(p.filesDir, 'stored.txt'), 'utf8')).toBe('from-the-plan\n');
    expect(readFileSync(join(p.filesDir, 'legacy.txt'), 'utf8')).toBe('planned-late\n');
  });

  // Last: it rotates the master key, which the jobs of the tests before would not survive.
  it('stores the plan sealed; a job queued before a master key rotation runs after it', async () => {
    await createCredential(
      p,
      { name: 'job-key', connectorType: 'shell', data: { env: { API_KEY: SECRET } } },
      null,
    );
    const pipeline = await createPipeline(
      p,
      {
        spec: {
          name: 'sealed-plan',
          parameters: { type: 'object', properties: { file: { type: 'string' } }, required: ['file'] },
          steps: [
            {
              id: 'say',
              task: 'shell',
              credential: 'job-key',
              with: {
                command: [
                  'sh',
                  '-c',
                  'printf "%s %s" "$0" "$API_KEY" > "$1"',
                  '${env.JOBS_TEST_EXPOSED_TOKEN}',
                  '${params.file}',
                ],
              },
            },
          ],
        },
      },
      null,
    );
    const rawPlan = async (id: string) =>
      (await p.database.query<{ plan: string }>('SELECT plan FROM job_executions WHERE id = $1', [id]))[0]!
        .plan;
    const before = await executePipeline(p, pipeline.id, {
      parameters: { file: 'before.txt' },
      triggerType: 'manual',
    });
    expect(await waitForJob(p, before)).toMatchObject({ status: 'success' });
    expect(readFileSync(join(p.filesDir, 'before.txt'), 'utf8')).toBe(`${EXPOSED} ${SECRET}`);
    for (const value of [EXPOSED, SECRET]) expect(await rawPlan(before)).not.toContain(value);

    await worker.stop();
    const queued = await executePipeline(p, pipeline.id, {
      parameters: { file: 'after.txt' },
      triggerType: 'manual',
    });
    const newKey = randomBytes(32).toString('base64');
    const rotated = await rotateMasterKey(p.database, {
      oldKey: p.masterKey,
      newKey,
      dataDir: p.dataDir,
      keyFromFile: false,
    });
    expect(rotated.jobPlans).toBeGreaterThanOrEqual(2);
    const [row] = await p.database.db.select().from(jobExecutions).where(eq(jobExecutions.id, queued));
    await expect(jobPlan(p, row!), 'the old key opens it no more').rejects.toThrow(
      `the plan of job ${queued} cannot be decrypted with this master key`,
    );
    for (const value of [EXPOSED, SECRET]) expect(await rawPlan(queued)).not.toContain(value);
    // The processes restarted with the new key, as after `sluice keys rotate`.
    worker = await startWorker({ ...p, masterKey: newKey }, { concurrency: 2, killGraceMs: 1000 });
    expect(await waitForJob(p, queued)).toMatchObject({ status: 'success' });
    expect(readFileSync(join(p.filesDir, 'after.txt'), 'utf8')).toBe(`${EXPOSED} ${SECRET}`);
  });
});
