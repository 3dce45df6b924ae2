import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executePipeline, listSteps } from '../src/services/jobs.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { backends } from './helpers/backends.ts';
import { refusingPort } from './helpers/net.ts';
import { type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

describe.each(backends)('circuit breakers of jobs on $name', ({ name }) => {
  let p: TestPlatform;
  let worker: Worker;
  beforeAll(async () => {
    p = await testPlatform(name, { jobAttempts: 3 });
    worker = await startWorker(p, { concurrency: 1, killGraceMs: 1000 });
  });
  afterAll(async () => {
    await worker.stop();
    await p.close();
  });

  it("waits for the circuit's probe before the job's next attempt, instead of failing fast again", async () => {
    const port = await refusingPort();
    const pipeline = await createPipeline(
      p,
      {
        spec: {
          name: 'down',
          // One refusal opens the circuit for 8 s; the job's own retries wait 1–2 s.
          retry: { attempts: 1, circuit: { failures: 1, halfOpenAfter: '8s' } },
          flow: [
            { source: 'postgres', with: { url: `postgres://u@127.0.0.1:${port}/db`, table: 't' } },
            { sink: 'ndjson', with: { path: 'out.ndjson' } },
          ],
        },
      },
      null,
    );
    const t0 = Date.now();
    const jobId = await executePipeline(p, pipeline.id, { triggerType: 'manual' });
    const job = await waitForJob(p, jobId);
    // Attempt 1 was refused (and opened the circuit), attempt 2 met the open circuit, attempt 3
    // waited for the probe and was refused again: had it not waited it would say CIRCUIT_OPEN.
    expect(job).toMatchObject({ status: 'failed', attempt: 3, error: { code: 'CONNECTION_FAILED' } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(8000);
    const [step] = await listSteps(p, jobId);
    expect(step).toMatchObject({ status: 'failed' });
  });
});
