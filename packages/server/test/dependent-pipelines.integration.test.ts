import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobExecutions } from '../src/db/schema.ts';
import { backends } from './helpers/backends.ts';
import { waitForJob } from './helpers/platform.ts';
import { pipelineMaker, runningPlatform } from './helpers/running.ts';

const shell = (command: string[]) => [{ id: 'run', task: 'shell', with: { command } }];
const dateParam = { type: 'object', properties: { date: { type: 'string' } }, required: ['date'] };

describe.each(backends)('dependent pipelines on $name', ({ name }) => {
  const ctx = runningPlatform(name);
  const { ids, create: mk } = pipelineMaker(ctx);

  beforeAll(async () => {
    await mk({ name: 'extract', parameters: dateParam, steps: shell(['true']) });
    await mk({
      name: 'report',
      parameters: {
        type: 'object',
        properties: { date: { type: 'string' }, source: { type: 'string' }, day: { type: 'string' } },
        required: ['date'],
      },
      triggers: {
        onSuccessOf: ['extract'],
        params: { source: 'from ${upstream.pipeline}', day: '${upstream.params.date}' },
      },
      steps: shell(['true']),
    });
    await mk({ name: 'fails', parameters: dateParam, steps: shell(['false']) });
    await mk({ name: 'after-fails', triggers: { onSuccessOf: ['fails'] }, steps: shell(['true']) });
  });

  const jobsOf = (pipeline: string) =>
    ctx.p.database.db.select().from(jobExecutions).where(eq(jobExecutions.pipelineId, ids[pipeline]!));

  it("a success starts the pipelines that run after it, with the upstream job's parameters", async () => {
    const run = await ctx.admin('POST', `/pipelines/${ids.extract}/execute`, {
      parameters: { date: '2026-11-05' },
    });
    expect((await waitForJob(ctx.p, run.body.jobId)).status).toBe('success');
    const end = Date.now() + 30_000;
    let started = await jobsOf('report');
    while (started.length === 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      started = await jobsOf('report');
    }
    expect(started).toHaveLength(1);
    const job = await waitForJob(ctx.p, started[0]!.id);
    expect(job).toMatchObject({
      status: 'success',
      triggerType: 'pipeline',
      triggeredBy: 'pipeline:extract',
      upstreamJobId: run.body.jobId,
      parameters: { date: '2026-11-05', source: 'from extract', day: '2026-11-05' },
    });
    const view = await ctx.admin('GET', `/jobs/${job.id}`);
    expect(view.body).toMatchObject({ triggerType: 'pipeline', upstreamJobId: run.body.jobId });
    const logs = await ctx.admin('GET', `/jobs/${run.body.jobId}/logs`);
    expect(logs.text).toContain(`started job ${job.id} of pipeline \\"report\\"`);
  });

  it('a failure starts nothing', async () => {
    const run = await ctx.admin('POST', `/pipelines/${ids.fails}/execute`, {
      parameters: { date: '2026-11-05' },
    });
    expect((await waitForJob(ctx.p, run.body.jobId)).status).toBe('failed');
    await new Promise((r) => setTimeout(r, 3000));
    expect(await jobsOf('after-fails')).toHaveLength(0);
    const any = await ctx.p.database.db
      .select()
      .from(jobExecutions)
      .where(and(eq(jobExecutions.upstreamJobId, run.body.jobId)));
    expect(any).toHaveLength(0);
  });

  it('queues no dependents message for a success that nothing runs after', async () => {
    const dependents = async () => {
      const [q] = await ctx.p.database.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM pgboss.job WHERE name = 'sluice-dependents'",
      );
      return Number(q!.n);
    };
    const before = await dependents();
    // `report` succeeds and no pipeline names it in its triggers.
    const run = await ctx.admin('POST', `/pipelines/${ids.report}/execute`, {
      parameters: { date: '2026-11-06' },
    });
    expect((await waitForJob(ctx.p, run.body.jobId)).status).toBe('success');
    expect(await dependents()).toBe(before);
    // `extract` does have one: its success is queued for it.
    const up = await ctx.admin('POST', `/pipelines/${ids.extract}/execute`, {
      parameters: { date: '2026-11-06' },
    });
    expect((await waitForJob(ctx.p, up.body.jobId)).status).toBe('success');
    expect(await dependents()).toBe(before + 1);
  });

  it('refuses a loop when a pipeline is saved, at the path of the name that closes it', async () => {
    const self = await ctx.admin('POST', '/pipelines', {
      spec: { name: 'selfish', triggers: { onSuccessOf: ['selfish'] }, steps: shell(['true']) },
    });
    expect(self.status).toBe(400);
    expect(self.body.error.details).toEqual([
      { path: 'spec.triggers.onSuccessOf[0]', message: expect.stringContaining('cannot run after itself') },
    ]);

    // extract → report exists; extract running after report would close extract → report → extract.
    const loop = await ctx.admin('PUT', `/pipelines/${ids.extract}`, {
      spec: {
        name: 'extract',
        parameters: dateParam,
        triggers: { onSuccessOf: ['nightly', 'report'] },
        steps: shell(['true']),
      },
    });
    expect(loop.status).toBe(400);
    expect(loop.body.error.details).toEqual([
      {
        path: 'spec.triggers.onSuccessOf[1]',
        message: expect.stringContaining('extract → report → extract'),
      },
    ]);

    // A name no pipeline has yet is a warning, not an error.
    const check = await ctx.admin('POST', `/pipelines/${ids.extract}/validate`, {
      spec: {
        name: 'extract',
        parameters: dateParam,
        triggers: { onSuccessOf: ['nightly'] },
        steps: shell(['true']),
      },
    });
    expect(check.body).toMatchObject({
      ok: true,
      issues: [],
      warnings: [{ path: 'triggers.onSuccessOf[0]', message: expect.stringContaining('"nightly"') }],
    });
  });

  it('shows what a pipeline runs after and what runs after it', async () => {
    const extract = await ctx.admin('GET', `/pipelines/${ids.extract}/dependencies`);
    expect(extract.body).toEqual({ runsAfter: [], triggers: [{ name: 'report', pipelineId: ids.report }] });
    const report = await ctx.admin('GET', `/pipelines/${ids.report}/dependencies`);
    expect(report.body).toEqual({ runsAfter: [{ name: 'extract', pipelineId: ids.extract }], triggers: [] });
  });
});
