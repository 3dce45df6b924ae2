import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditLog, stepExecutions } from '../src/db/schema.ts';
import { backends } from './helpers/backends.ts';
import { apiCaller, tokenFor, waitForJob } from './helpers/platform.ts';
import { runningPlatform } from './helpers/running.ts';

// Issue 14 §3: a job's quarantined rows are re-run, after the pipeline was fixed, as a new job
// that adds them to the same sinks.

describe.each(backends)('POST /jobs/{id}/quarantine/replay on $name', ({ name }) => {
  const ctx = runningPlatform(name);
  let operator: ReturnType<typeof apiCaller>;
  let viewer: ReturnType<typeof apiCaller>;

  beforeAll(async () => {
    const [op, view] = [await tokenFor(ctx.p, 'operator'), await tokenFor(ctx.p, 'viewer')];
    operator = apiCaller(
      () => ctx.app,
      () => op,
    );
    viewer = apiCaller(
      () => ctx.app,
      () => view,
    );
  });

  const spec = (amount: string) => ({
    name: `replay-${name}`,
    steps: [
      {
        id: 'load',
        flow: [
          { source: 'csv', with: { path: `in-${name}.csv` } },
          { transform: 'cast', with: { fields: { amount } } },
          { sink: 'ndjson', with: { path: `out-${name}.ndjson` } },
        ],
      },
    ],
  });
  const ids = () =>
    readFileSync(join(ctx.p.filesDir, `out-${name}.ndjson`), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).id);

  it('queues a replay job that adds the fixed rows to the sink and keeps the rest quarantined', async () => {
    writeFileSync(join(ctx.p.filesDir, `in-${name}.csv`), 'id,amount\n1,10\n2,x\n3,3.5\n');
    const created = await ctx.admin('POST', '/pipelines', { spec: spec('integer') });
    expect(created.status, created.text).toBe(201);
    const pipelineId = created.body.id;
    const run = await ctx.admin('POST', `/pipelines/${pipelineId}/execute`, {});
    const original = await waitForJob(ctx.p, run.body.jobId);
    expect(original.status).toBe('success');
    expect(ids()).toEqual(['1']);

    expect((await viewer('POST', `/jobs/${original.id}/quarantine/replay`, {})).status).toBe(403);
    const bad = await operator('POST', `/jobs/${original.id}/quarantine/replay`, { other: 1 });
    expect(bad.status).toBe(400);

    expect((await ctx.admin('PUT', `/pipelines/${pipelineId}`, { spec: spec('number') })).status).toBe(200);
    const replay = await operator('POST', `/jobs/${original.id}/quarantine/replay`, {
      triggerType: 'manual',
    });
    expect(replay.status, replay.text).toBe(202);
    const job = await waitForJob(ctx.p, replay.body.jobId);
    expect(job.status, JSON.stringify(job.error)).toBe('success');
    expect(job.replayOf).toBe(original.id);
    expect(job.pipelineVersion).toBe(2);
    expect(ids()).toEqual(['1', '3']);

    const shown = await viewer('GET', `/jobs/${job.id}`);
    expect(shown.body.replayOf).toBe(original.id);
    const [step] = await ctx.p.database.db
      .select()
      .from(stepExecutions)
      .where(and(eq(stepExecutions.jobId, job.id), eq(stepExecutions.stepId, 'load')));
    expect(step).toMatchObject({ status: 'success', rowsRead: 2, rowsWritten: 1, rowsQuarantined: 1 });
    expect((step!.report as { replay?: unknown }).replay).toMatchObject({
      taken: 2,
      written: 1,
      quarantined: 1,
    });
    // The replay job's artifacts hold what is still open.
    const artifacts = await viewer('GET', `/jobs/${job.id}/artifacts`);
    expect(artifacts.body.items.map((a: { name: string }) => a.name)).toContain('load.quarantine.ndjson');

    const audited = await ctx.p.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'job.quarantine.replay'));
    expect(audited.some((a) => a.resourceId === original.id)).toBe(true);

    // Replaying the replay job replays the original's open quarantine again: nothing is written twice.
    const again = await operator('POST', `/jobs/${job.id}/quarantine/replay`, {});
    expect(again.status, again.text).toBe(202);
    const second = await waitForJob(ctx.p, again.body.jobId);
    expect(second.status).toBe('success');
    expect(second.replayOf).toBe(original.id);
    expect(ids()).toEqual(['1', '3']);
  });

  it('answers 409 for a job with nothing quarantined, and 404 for no job', async () => {
    writeFileSync(join(ctx.p.filesDir, `in-${name}.csv`), 'id,amount\n1,10\n');
    const created = await ctx.admin('POST', '/pipelines', {
      spec: { ...spec('integer'), name: `replay-clean-${name}` },
    });
    const run = await ctx.admin('POST', `/pipelines/${created.body.id}/execute`, {});
    const job = await waitForJob(ctx.p, run.body.jobId);
    const r = await operator('POST', `/jobs/${job.id}/quarantine/replay`, {});
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain('nothing to replay');
    const missing = await operator(
      'POST',
      '/jobs/00000000-0000-4000-8000-000000000000/quarantine/replay',
      {},
    );
    expect(missing.status).toBe(404);
  });
});
