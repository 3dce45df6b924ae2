import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobExecutions } from '../src/db/schema.ts';
import { backends } from './helpers/backends.ts';
import { waitForJob } from './helpers/platform.ts';
import { pipelineMaker, runningPlatform } from './helpers/running.ts';

// A pipeline that runs when another pipeline's dataset is updated, and reads exactly that update.

const writer = (extra: object = {}) => ({
  name: 'orders-daily',
  ...extra,
  steps: [
    {
      id: 'extract',
      flow: [
        { source: 'csv', with: { path: 'orders.csv' } },
        { sink: 'dataset', with: { name: 'orders' } },
      ],
    },
  ],
});

describe.each(backends)('dataset triggers on $name', ({ name }) => {
  const ctx = runningPlatform(name);
  const { ids, create: mk } = pipelineMaker(ctx);

  beforeAll(async () => {
    await mk(writer());
    await mk({
      name: 'orders-report',
      triggers: { onDatasetUpdate: ['orders-daily/orders'] },
      steps: [
        {
          id: 'report',
          flow: [
            { source: 'dataset', with: { name: 'orders', pipeline: 'orders-daily' } },
            { sink: 'ndjson', with: { path: 'report-${run.id}.ndjson' } },
          ],
        },
      ],
    });
    // Listens to a dataset the pipeline does not write: saved with a warning, never started.
    await mk({
      name: 'refunds-report',
      triggers: { onDatasetUpdate: ['orders-daily/refunds'] },
      steps: [{ id: 'run', task: 'shell', with: { command: ['true'] } }],
    });
  });

  const jobsOf = async (pipeline: string, n: number) => {
    const end = Date.now() + 30_000;
    for (;;) {
      const jobs = await ctx.p.database.db
        .select()
        .from(jobExecutions)
        .where(eq(jobExecutions.pipelineId, ids[pipeline]!))
        .orderBy(jobExecutions.createdAt);
      if (jobs.length >= n || Date.now() > end) return jobs;
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const readReport = (jobId: string) =>
    readFileSync(join(ctx.p.filesDir, `report-${jobId}.ndjson`), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);

  it("starts the dependent on each update, which reads that update's rows", async () => {
    for (const [i, ids_] of [
      ['1', '2', '3'],
      ['4', '5'],
    ].entries()) {
      writeFileSync(
        join(ctx.p.filesDir, 'orders.csv'),
        `id,qty\n${ids_.map((id) => `${id},1`).join('\n')}\n`,
      );
      const run = await ctx.admin('POST', `/pipelines/${ids['orders-daily']}/execute`, {});
      expect((await waitForJob(ctx.p, run.body.jobId)).status).toBe('success');
      const started = await jobsOf('orders-report', i + 1);
      expect(started).toHaveLength(i + 1);
      const job = await waitForJob(ctx.p, started[i]!.id);
      expect(job, JSON.stringify(job.error)).toMatchObject({
        status: 'success',
        triggerType: 'pipeline',
        triggeredBy: 'pipeline:orders-daily',
        upstreamJobId: run.body.jobId,
      });
      expect(readReport(job.id).sort()).toEqual(ids_);
      const logs = await ctx.admin('GET', `/jobs/${job.id}/logs?limit=500`);
      expect(logs.text).toContain(
        `dataset orders-daily/orders: ${ids_.length} rows written by job ${run.body.jobId}`,
      );
      const upstreamLogs = await ctx.admin('GET', `/jobs/${run.body.jobId}/logs?limit=500`);
      expect(upstreamLogs.text).toContain('runs when orders-daily/orders is updated');
    }
    expect(await jobsOf('refunds-report', 0)).toHaveLength(0);
  });

  it('shows the dataset links both ways, warns of a dataset not written, and refuses a loop through one', async () => {
    const links = await ctx.admin('GET', `/pipelines/${ids['orders-report']}/dependencies`);
    expect(links.body.runsAfter).toEqual([
      { name: 'orders-daily', pipelineId: ids['orders-daily'], dataset: 'orders' },
    ]);
    const back = await ctx.admin('GET', `/pipelines/${ids['orders-daily']}/dependencies`);
    expect(back.body.triggers).toEqual([
      { name: 'orders-report', pipelineId: ids['orders-report'], dataset: 'orders' },
      { name: 'refunds-report', pipelineId: ids['refunds-report'], dataset: 'refunds' },
    ]);
    const check = await ctx.admin('POST', `/pipelines/${ids['refunds-report']}/validate`, {
      spec: {
        name: 'refunds-report',
        triggers: { onDatasetUpdate: ['orders-daily/refunds'] },
        steps: [{ id: 'run', task: 'shell', with: { command: ['true'] } }],
      },
    });
    expect(check.body.warnings).toEqual([
      {
        path: 'triggers.onDatasetUpdate[0]',
        message: expect.stringContaining(
          'pipeline "orders-daily" writes no dataset "refunds" (its datasets: orders)',
        ),
      },
    ]);
    const loop = await ctx.admin('PUT', `/pipelines/${ids['orders-daily']}`, {
      spec: writer({ triggers: { onSuccessOf: ['orders-report'] } }),
    });
    expect(loop.status).toBe(400);
    expect(loop.body.error.details).toEqual([
      {
        path: 'spec.triggers.onSuccessOf[0]',
        message: expect.stringContaining('orders-daily → orders-report → orders-daily'),
      },
    ]);
  });
});
