import { describe, expect, it } from 'vitest';
import { AMQP_URL, freshQueue, publish, queueDepth } from '../../connectors/test/amqp.ts';
import { autostartStreams } from '../src/services/autostart.ts';
import { waitForJob } from './helpers/platform.ts';
import { runningPlatform } from './helpers/running.ts';

// Issue 19 on the platform: a pipeline reading a queue is a job that runs until it is cancelled;
// it runs as one job at a time, and its cancel drains (written rows acknowledged, the job cancelled).
describe('a streaming pipeline on the platform', () => {
  const ctx = runningPlatform('pglite');

  it('runs until cancelled, refuses a second job meanwhile, and drains on cancel', async () => {
    const queue = await freshQueue('platform');
    await publish(
      queue,
      Array.from({ length: 50 }, (_, i) => ({ id: i + 1 })),
    );
    const created = await ctx.admin('POST', '/pipelines', {
      spec: {
        name: `orders-stream-${queue.slice(-8)}`,
        flow: [
          { source: 'rabbitmq', with: { url: AMQP_URL, queue, meta: false } },
          { sink: 'ndjson', with: { path: 'stream.ndjson' } },
        ],
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const first = await ctx.admin('POST', `/pipelines/${id}/execute`, {});
    expect(first.status).toBe(202);
    const jobId = first.body.jobId as string;

    // The stream reads all 50 messages and waits for more: still running, not done.
    await expect
      .poll(
        async () => {
          const job = await ctx.admin('GET', `/jobs/${jobId}`);
          const steps = await ctx.admin('GET', `/jobs/${jobId}/steps`);
          return [job.body.status, steps.body.items?.[0]?.rowsRead];
        },
        { timeout: 60_000, interval: 250 },
      )
      .toEqual(['running', 50]);

    // Its step says it streams, how many messages wait and when it last checkpointed (the 5 s
    // interval), and /metrics reports the same.
    await expect
      .poll(
        async () => {
          const step = (await ctx.admin('GET', `/jobs/${jobId}/steps`)).body.items[0];
          return [step.streaming, step.lag, typeof step.checkpointedAt];
        },
        { timeout: 30_000, interval: 250 },
      )
      .toEqual([true, 0, 'string']);
    const name = created.body.name as string;
    const metrics = (await ctx.app.inject({ url: '/metrics' })).body;
    expect(metrics).toContain(`etl_stream_rows_total{pipeline="${name}",step="main"} 50`);
    expect(metrics).toContain(`etl_stream_lag{pipeline="${name}",step="main"} 0`);
    const at = new RegExp(
      `etl_stream_last_checkpoint_timestamp_seconds\\{pipeline="${name}",step="main"\\} ([\\d.e+]+)`,
    ).exec(metrics);
    expect(Math.abs(Number(at?.[1]) - Date.now() / 1000)).toBeLessThan(60);

    const second = await ctx.admin('POST', `/pipelines/${id}/execute`, {});
    expect(second.status).toBe(409);
    expect(second.body.error.message).toMatch(
      new RegExp(
        `streams from a queue \\(step "main"\\) and job ${jobId} is running: a stream runs as one job at a time`,
      ),
    );

    const cancel = await ctx.admin('POST', `/jobs/${jobId}/cancel`, {});
    expect(cancel.status).toBe(200);
    const row = await waitForJob(ctx.p, jobId);
    expect(row.status).toBe('cancelled');
    // Drained: the 50 rows were written and their messages acknowledged.
    const steps = await ctx.admin('GET', `/jobs/${jobId}/steps`);
    expect(steps.body.items[0]).toMatchObject({ status: 'cancelled', rowsRead: 50, rowsWritten: 50 });
    expect(await queueDepth(queue)).toBe(0);

    // Once it stopped, the pipeline may run again.
    const again = await ctx.admin('POST', `/pipelines/${id}/execute`, {});
    expect(again.status).toBe(202);
    await ctx.admin('POST', `/jobs/${again.body.jobId}/cancel`, {});
    expect((await waitForJob(ctx.p, again.body.jobId as string)).status).toBe('cancelled');
  }, 120_000);

  it('starts pipelines marked autostart with the server, once, and refuses autostart without a queue', async () => {
    const queue = await freshQueue('autostart');
    const created = await ctx.admin('POST', '/pipelines', {
      spec: {
        name: `autostarted-${queue.slice(-8)}`,
        autostart: true,
        flow: [
          { source: 'rabbitmq', with: { url: AMQP_URL, queue, meta: false } },
          { sink: 'ndjson', with: { path: 'auto.ndjson' } },
        ],
      },
    });
    expect(created.status).toBe(201);
    const started = await autostartStreams(ctx.p);
    const mine = [];
    for (const jobId of started) {
      const job = await ctx.admin('GET', `/jobs/${jobId}`);
      if (job.body.pipelineId === created.body.id) mine.push(job.body);
    }
    expect(mine).toMatchObject([{ triggerType: 'api', triggeredBy: 'autostart' }]);
    // A second server starting meanwhile finds it running and starts nothing.
    expect(await autostartStreams(ctx.p)).not.toContain(mine[0].id);
    await ctx.admin('POST', `/jobs/${mine[0].id}/cancel`, {});
    expect((await waitForJob(ctx.p, mine[0].id as string)).status).toBe('cancelled');

    const refused = await ctx.admin('POST', '/pipelines', {
      spec: {
        name: 'autostart-files',
        autostart: true,
        flow: [
          { source: 'csv', with: { path: 'in.csv' } },
          { sink: 'ndjson', with: { path: 'out.ndjson' } },
        ],
      },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toContainEqual({
      path: 'spec.autostart',
      message: expect.stringMatching(/only a pipeline that reads a queue/),
    });
  }, 120_000);
});
