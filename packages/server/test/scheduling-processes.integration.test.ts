import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { apiCaller, type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';
import { spawnWorker } from './helpers/worker-process.ts';

// Slots across processes: this process (API and a worker) and a `sluice worker --tags browser`
// process on the local PostgreSQL, each holding its slots in its own database session.
let p: TestPlatform;
let app: App;
let local: Worker;
let remote: Awaited<ReturnType<typeof spawnWorker>>;
let api: ReturnType<typeof apiCaller>;
beforeAll(async () => {
  p = await testPlatform('postgres');
  app = await buildApp(p, { uiDir: false });
  api = apiCaller(
    () => app,
    () => p.adminToken,
  );
  local = await startWorker(p, { concurrency: 2, killGraceMs: 1000 });
  remote = await spawnWorker(p, ['--tags', 'browser', '--concurrency', '2']);
});
afterAll(async () => {
  await remote?.stop();
  await local?.stop();
  await app?.close();
  await p?.close();
});

it('holds a pipeline to concurrency 1 across worker processes, and routes a tagged job to the tagged one', async () => {
  const lock = join(p.filesDir, 'exclusive');
  const command = ['sh', '-c', `mkdir ${lock} || { touch ${lock}.overlap; exit 1; }; sleep 1; rmdir ${lock}`];
  const created = await api('POST', '/pipelines', {
    spec: { name: 'single', concurrency: 1, steps: [{ id: 'work', task: 'shell', with: { command } }] },
  });
  const tagged = await api('POST', '/pipelines', {
    spec: {
      name: 'browse',
      steps: [{ id: 'b', runsOn: ['browser'], task: 'shell', with: { command: ['true'] } }],
    },
  });
  const jobs: string[] = [];
  for (let i = 0; i < 6; i++)
    jobs.push((await api('POST', `/pipelines/${created.body.id}/execute`)).body.jobId);
  const browse = (await api('POST', `/pipelines/${tagged.body.id}/execute`)).body.jobId;
  const ended = await Promise.all(jobs.map((j) => waitForJob(p, j, undefined, 120_000)));
  expect(ended.map((j) => j.status)).toEqual(Array(6).fill('success'));
  expect(existsSync(`${lock}.overlap`)).toBe(false);
  const spans = ended
    .map((j) => [j.startedAt!.getTime(), j.completedAt!.getTime()] as const)
    .sort((a, b) => a[0] - b[0]);
  expect(spans.every((s, i) => i === 0 || spans[i - 1]![1] <= s[0])).toBe(true);
  expect((await waitForJob(p, browse)).workerId).toBe(remote.id);
}, 180_000);
