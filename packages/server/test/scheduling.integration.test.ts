import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import type { JobExecution } from '../src/db/schema.ts';
import { createCredential } from '../src/services/credentials.ts';
import { jobSteps } from '../src/services/jobs.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { backends } from './helpers/backends.ts';
import { apiCaller, type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

// A step that fails the job if another step holding the same "lock" directory runs at this moment.
const exclusive = (lock: string, ms: number) => [
  'sh',
  '-c',
  `mkdir ${lock} || { echo overlap >> ${lock}.overlap; exit 1; }; sleep ${ms / 1000}; rmdir ${lock}`,
];

/** The intervals [from, to] never overlap (sorted by start). */
function disjoint(spans: { from: Date; to: Date }[]): boolean {
  const s = [...spans].sort((a, b) => a.from.getTime() - b.from.getTime());
  return s.every((x, i) => i === 0 || s[i - 1]!.to.getTime() <= x.from.getTime());
}

describe.each(backends)('scheduling on $name', ({ name }) => {
  let p: TestPlatform;
  let app: App;
  let api: ReturnType<typeof apiCaller>;
  let workers: Worker[] = [];
  beforeAll(async () => {
    p = await testPlatform(name);
    app = await buildApp(p, { uiDir: false });
    api = apiCaller(
      () => app,
      () => p.adminToken,
    );
  });
  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop({ graceMs: 1000 })));
    workers = [];
  });
  afterAll(async () => {
    await app?.close();
    await p?.close();
  });

  const worker = async (o: Parameters<typeof startWorker>[1] = {}) => {
    const w = await startWorker(p, { killGraceMs: 1000, ...o });
    workers.push(w);
    return w;
  };
  const pipeline = async (spec: object): Promise<string> => {
    const r = await api('POST', '/pipelines', { spec });
    expect(r.status, r.text).toBe(201);
    return r.body.id;
  };
  const execute = async (id: string, body: object = {}): Promise<string> => {
    const r = await api('POST', `/pipelines/${id}/execute`, body);
    expect(r.status, r.text).toBe(202);
    return r.body.jobId;
  };
  const done = (ids: string[]) => Promise.all(ids.map((id) => waitForJob(p, id, undefined, 90_000)));

  it('starts a later job of a higher priority before earlier ones of a lower', async () => {
    const order = join(p.filesDir, 'order.log');
    const go = join(p.filesDir, 'go');
    const mark = (what: string) => ['sh', '-c', `echo ${what} >> ${order}`];
    const blocker = await pipeline({
      name: 'blocker',
      steps: [
        {
          id: 'wait',
          task: 'shell',
          with: { command: ['sh', '-c', `while [ ! -f ${go} ]; do sleep 0.1; done`] },
        },
      ],
    });
    const low = await pipeline({
      name: 'low',
      priority: -5,
      parameters: { type: 'object', properties: { n: { type: 'integer', default: 0 } } },
      steps: [{ id: 'mark', task: 'shell', with: { command: mark('low${params.n}') } }],
    });
    const normal = await pipeline({
      name: 'normal',
      steps: [{ id: 'mark', task: 'shell', with: { command: mark('normal') } }],
    });
    await worker({ concurrency: 1 });
    const first = await execute(blocker);
    await waitForJob(p, first, (s) => s === 'running');
    // Queued while the one worker is busy, in this order.
    const lows = [await execute(low, { parameters: { n: 1 } }), await execute(low, { parameters: { n: 2 } })];
    const plain = await execute(normal);
    const urgent = await execute(normal, { priority: 10 });
    expect((await api('GET', `/jobs/${urgent}`)).body).toMatchObject({ priority: 10, status: 'queued' });
    expect((await api('GET', `/jobs/${lows[0]}`)).body.priority).toBe(-5);
    expect((await api('GET', `/jobs/${plain}`)).body.priority).toBe(0);
    writeFileSync(go, '');
    const ended = await done([first, ...lows, plain, urgent]);
    expect(ended.map((j) => j.status)).toEqual(Array(5).fill('success'));
    // The urgent job came last but ran first; the low ones, queued first, ran last.
    expect(readFileSync(order, 'utf8').trim().split('\n')).toEqual(['normal', 'normal', 'low1', 'low2']);
    const started = (j: JobExecution) => j.startedAt!.getTime();
    const [, l1, l2, pl, ur] = ended;
    expect(started(ur!)).toBeLessThan(started(pl!));
    expect(started(pl!)).toBeLessThan(started(l1!));
    expect(started(l1!)).toBeLessThan(started(l2!));
  });

  it('runs at most `concurrency` jobs of a pipeline at once across two workers; the rest wait queued', async () => {
    const lock = join(p.filesDir, 'one-at-a-time');
    const id = await pipeline({
      name: 'one-at-a-time',
      concurrency: 1,
      steps: [{ id: 'work', task: 'shell', with: { command: exclusive(lock, 1500) } }],
    });
    await worker({ concurrency: 2 });
    await worker({ concurrency: 2 });
    const jobs = [await execute(id), await execute(id), await execute(id), await execute(id)];
    await waitForJob(p, jobs[0]!, (s) => s === 'running');
    await new Promise((r) => setTimeout(r, 500));
    const list = (await api('GET', `/jobs?pipelineId=${id}&limit=10`)).body.items as {
      status: string;
      waitingFor?: string;
      concurrency: number;
    }[];
    expect(list.filter((j) => j.status === 'running')).toHaveLength(1);
    const waiting = list.filter((j) => j.status === 'queued');
    expect(waiting.length).toBeGreaterThan(0);
    for (const j of waiting) {
      expect(j.concurrency).toBe(1);
      expect(j.waitingFor).toBe('a slot: 1 of 1 jobs of this pipeline running (concurrency 1)');
    }
    const ended = await done(jobs);
    expect(ended.map((j) => j.status)).toEqual(Array(4).fill('success'));
    expect(existsSync(`${lock}.overlap`)).toBe(false);
    expect(disjoint(ended.map((j) => ({ from: j.startedAt!, to: j.completedAt! })))).toBe(true);
    // Waited queued, not failed: one attempt each.
    expect(ended.every((j) => j.attempt === 1)).toBe(true);
  });

  it('lets one step at a time use a credential with concurrency 1, across pipelines and workers', async () => {
    const lock = join(p.filesDir, 'portal-session');
    const cred = await createCredential(
      p,
      { name: 'portal', connectorType: 'shell', data: { env: { PORTAL_USER: 'demo' } }, concurrency: 1 },
      'tester',
    );
    expect(cred.concurrency).toBe(1);
    const step = {
      id: 'login',
      task: 'shell',
      credential: 'portal',
      with: { command: exclusive(lock, 1500) },
    };
    const a = await pipeline({ name: 'portal-a', steps: [step] });
    const b = await pipeline({ name: 'portal-b', steps: [step] });
    await worker({ concurrency: 2 });
    await worker({ concurrency: 2 });
    const jobs = [await execute(a), await execute(b), await execute(a), await execute(b)];
    const ended = await done(jobs);
    expect(ended.map((j) => j.status)).toEqual(Array(4).fill('success'));
    expect(existsSync(`${lock}.overlap`)).toBe(false);
    const steps = (await Promise.all(jobs.map((j) => jobSteps(p, j)))).flat();
    expect(disjoint(steps.map((s) => ({ from: s.startedAt!, to: s.completedAt! })))).toBe(true);
    // The jobs themselves ran side by side: it is the step that waited, and said so.
    expect(disjoint(ended.map((j) => ({ from: j.startedAt!, to: j.completedAt! })))).toBe(false);
    const logs = await Promise.all(jobs.map((j) => api('GET', `/jobs/${j}/logs?limit=100`)));
    expect(
      logs.some((l) => l.text.includes('waits for credential \\"portal\\": 1 step(s) may use it at once')),
    ).toBe(true);
  });

  it('gives a job whose steps need a tag only to a worker that has it, and says what it waits for', async () => {
    const id = await pipeline({
      name: 'tagged',
      steps: [
        { id: 'plain', task: 'shell', with: { command: ['true'] } },
        { id: 'render', needs: ['plain'], runsOn: ['browser'], task: 'shell', with: { command: ['true'] } },
      ],
    });
    const plainWorker = await worker();
    const job = await execute(id);
    const untagged = await execute(
      await pipeline({ name: 'untagged', steps: [{ id: 's', task: 'shell', with: { command: ['true'] } }] }),
    );
    expect((await waitForJob(p, untagged)).workerId).toBe(plainWorker.id);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await api('GET', `/jobs/${job}`)).body).toMatchObject({
      status: 'queued',
      runsOn: ['browser'],
      waitingFor: 'a worker with tags [browser]',
    });
    const tagged = await worker({ tags: ['gpu', 'browser'] });
    const ran = await waitForJob(p, job);
    expect(ran).toMatchObject({ status: 'success', workerId: tagged.id });
    expect((await api('GET', `/jobs/${job}`)).body.waitingFor).toBeUndefined();
  });

  it('refuses a tag that is not one', async () => {
    await expect(startWorker(p, { tags: ['Browser Farm'] })).rejects.toThrow(
      'worker tag "Browser Farm" is not a tag: use lower-case letters, digits, - and _',
    );
    const r = await api('POST', '/pipelines', {
      spec: {
        name: 'bad-tags',
        steps: [{ id: 's', runsOn: ['GPU'], task: 'shell', with: { command: ['true'] } }],
      },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.details).toEqual([
      { path: 'spec.steps[0].runsOn[0]', message: expect.stringContaining('must match pattern') },
    ]);
  });
});
