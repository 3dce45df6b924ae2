import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/api/app.ts';
import { startWorker, type Worker } from '../../src/worker/worker.ts';
import { apiCaller, type TestPlatform, testPlatform, waitForJob } from '../helpers/platform.ts';

// Issue 13: a step whose error quoted a NUL from its data (a CSV header, a command's stderr)
// ended the job as INTERNAL "used all attempts": PostgreSQL refuses U+0000 in jsonb, so the
// error could not be recorded. PGlite is PostgreSQL, so one backend shows it.

describe('a NUL character in what a step reports', () => {
  let p: TestPlatform;
  let app: App;
  let worker: Worker;
  let call: ReturnType<typeof apiCaller>;
  beforeAll(async () => {
    p = await testPlatform('pglite', { jobAttempts: 1 });
    app = await buildApp(p, { uiDir: false });
    worker = await startWorker(p, { killGraceMs: 1000 });
    call = apiCaller(
      () => app,
      () => p.adminToken,
    );
  });
  afterAll(async () => {
    await worker.stop();
    await app.close();
    await p.close();
  });

  it('records the step error with the NUL replaced by U+FFFD', async () => {
    const spec = {
      name: 'nul-stderr',
      steps: [
        { id: 'say', task: 'shell', with: { command: ['sh', '-c', 'printf "bad\\000byte\\n" >&2; exit 3'] } },
      ],
    };
    const created = await call('POST', '/pipelines', { spec });
    const run = await call('POST', `/pipelines/${created.body.id}/execute`, {});
    const job = await waitForJob(p, run.body.jobId);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'TASK_FAILED', step: 'say' });
    expect((job.error as { message: string }).message).toContain('bad\uFFFDbyte');
    const steps = (await call('GET', `/jobs/${run.body.jobId}/steps`)).body.items as {
      error: { message: string };
    }[];
    expect(steps[0]!.error.message).toContain('exited with code 3: bad\uFFFDbyte');
  });
});
