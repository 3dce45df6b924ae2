import { describe, expect, it } from 'vitest';
import { waitForJob } from '../helpers/platform.ts';
import { runningPlatform } from '../helpers/running.ts';

// Issue 13: a 200 MB single line from a shell task pinned its step process for minutes. The log
// line is cut; with saveOutput the whole output is an artifact of the job. The worker's handling
// of step files is the same on both backends, so one is enough.

describe('a shell task printing one very long line', () => {
  const ctx = runningPlatform('pglite');

  it('logs the line cut with a marker and keeps the whole output as an artifact', async () => {
    const bytes = 20_000_000;
    const spec = {
      name: 'long-line',
      steps: [
        {
          id: 'shout',
          task: 'shell',
          with: {
            command: ['sh', '-c', `head -c ${bytes} /dev/zero | tr '\\0' a; echo; echo done`],
            saveOutput: true,
          },
        },
      ],
    };
    const created = await ctx.admin('POST', '/pipelines', { spec });
    const run = await ctx.admin('POST', `/pipelines/${created.body.id}/execute`, {});
    expect((await waitForJob(ctx.p, run.body.jobId)).status).toBe('success');
    const logs = (await ctx.admin('GET', `/jobs/${run.body.jobId}/logs?limit=5000`)).body.items as {
      message: string;
    }[];
    const long = logs.find((l) => l.message.includes('aaaa'))!;
    expect(long.message.length).toBeLessThan(3_000);
    expect(long.message).toMatch(/truncated 19,99\d,\d{3} bytes/);
    expect(logs.some((l) => l.message.endsWith('done'))).toBe(true);
    const artifacts = (await ctx.admin('GET', `/jobs/${run.body.jobId}/artifacts`)).body.items as {
      name: string;
      size: number;
    }[];
    expect(artifacts.find((a) => a.name === 'shout.stdout.log')?.size).toBe(bytes + 6);
  });
});
