import { describe, expect, it } from 'vitest';
import { waitForJob } from '../helpers/platform.ts';
import { runningPlatform } from '../helpers/running.ts';

// Issue 13: a step whose error quoted a NUL from its data (a CSV header, a command's stderr)
// ended the job as INTERNAL "used all attempts": PostgreSQL refuses U+0000 in jsonb, so the
// error could not be recorded. PGlite is PostgreSQL, so one backend shows it.

describe('a NUL character in what a step reports', () => {
  const ctx = runningPlatform('pglite', { jobAttempts: 1 });

  it('records the step error with the NUL replaced by U+FFFD', async () => {
    const spec = {
      name: 'nul-stderr',
      steps: [
        { id: 'say', task: 'shell', with: { command: ['sh', '-c', 'printf "bad\\000byte\\n" >&2; exit 3'] } },
      ],
    };
    const created = await ctx.admin('POST', '/pipelines', { spec });
    const run = await ctx.admin('POST', `/pipelines/${created.body.id}/execute`, {});
    const job = await waitForJob(ctx.p, run.body.jobId);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'TASK_FAILED', step: 'say' });
    expect((job.error as { message: string }).message).toContain('bad\uFFFDbyte');
    const steps = (await ctx.admin('GET', `/jobs/${run.body.jobId}/steps`)).body.items as {
      error: { message: string };
    }[];
    expect(steps[0]!.error.message).toContain('exited with code 3: bad\uFFFDbyte');
  });

  // Found by the fuzz tests: a lone surrogate in run parameters failed the job row's insert (500).
  it('stores run parameters with a lone surrogate, as U+FFFD', async () => {
    const spec = {
      name: 'surrogate',
      parameters: { type: 'object', properties: { note: { type: 'string', default: '' } } },
      steps: [{ id: 'say', task: 'shell', with: { command: ['true'] } }],
    };
    const created = await ctx.admin('POST', '/pipelines', { spec });
    const run = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/pipelines/${created.body.id}/execute`,
      headers: { ...ctx.p.auth, 'content-type': 'application/json' },
      payload: '{"parameters":{"note":"a\\ud800b"}}',
    });
    expect(run.statusCode, run.body).toBe(202);
    const job = await waitForJob(ctx.p, JSON.parse(run.body).jobId);
    expect(job.parameters).toEqual({ note: 'a\uFFFDb' });
  });
});
