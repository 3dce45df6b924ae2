import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { executePipeline, listSteps } from '../src/services/jobs.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { startWorker } from '../src/worker/worker.ts';
import { type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';
import { spawnWorker } from './helpers/worker-process.ts';

// Scale-out on a PostgreSQL server: a worker process killed with SIGKILL mid-step must not lose
// its job. (On the embedded database the worker is the server; its restart recovers the same way.)
let p: TestPlatform;
beforeAll(async () => {
  p = await testPlatform('postgres', { jobAttempts: 2 });
});
afterAll(async () => {
  await p.close();
});

it('takes up the job of a worker killed mid-step, and completes it', async () => {
  const marks = join(p.filesDir, 'marks.txt');
  const pipeline = await createPipeline(
    p,
    {
      spec: {
        name: 'long',
        steps: [
          {
            id: 'slow',
            task: 'shell',
            with: { command: ['sh', '-c', `echo start >> ${marks}; sleep 3; echo done >> ${marks}`] },
          },
        ],
      },
    },
    null,
  );
  const a = await spawnWorker(p);
  onTestFinished(() => a.stop());
  const jobId = await executePipeline(p, pipeline.id, { triggerType: 'api' });
  // Killed once the step is under way: its process started and the shell wrote its first mark.
  for (;;) {
    const [s] = await listSteps(p, jobId);
    if (s!.status === 'running' && s!.pid && existsSync(marks)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  a.child.kill('SIGKILL');
  await new Promise((r) => a.child.once('exit', r));

  const b = await startWorker(p, { killGraceMs: 1000 });
  try {
    const job = await waitForJob(p, jobId, (s) => s === 'success' || s === 'failed', 90_000);
    expect(job).toMatchObject({ status: 'success', attempt: 2, workerId: b.id });
    const [step] = await listSteps(p, jobId);
    expect(step).toMatchObject({ status: 'success', attempt: 2 });
    // The first attempt was stopped when its worker died; the second ran to the end.
    expect(readFileSync(marks, 'utf8')).toBe('start\nstart\ndone\n');
  } finally {
    await b.stop();
  }
});
