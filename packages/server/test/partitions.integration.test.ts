import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { stepPartitions } from '../src/db/schema.ts';
import { listArtifacts } from '../src/services/artifacts.ts';
import { executePipeline, listSteps, retryJob } from '../src/services/jobs.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { replayJobQuarantine } from '../src/services/replay.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { SERVER_URL } from './helpers/backends.ts';
import { type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';

// A step with `partitions`: its CSV cut into byte ranges, each run as a partition job by one of two
// workers, all writing one PostgreSQL table; the step's report is the parts' sum.

const ROWS = 20_000;
const schema = `t_parts_${process.pid}`;
let p: TestPlatform;
let app: App;
let data: pg.Client;
let workers: Worker[] = [];
// The first test's job, whose quarantine a later test replays.
let loaded: string | undefined;

beforeAll(async () => {
  p = await testPlatform('pglite');
  app = await buildApp(p);
  workers = [
    await startWorker(p, { concurrency: 1, partitionConcurrency: 2 }),
    await startWorker(p, { concurrency: 1, partitionConcurrency: 2 }),
  ];
  data = new pg.Client({ connectionString: SERVER_URL });
  await data.connect();
  await data.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await data.query(`CREATE SCHEMA ${schema}`);
  // Quoted fields with line feeds: a cut must fall between records, never inside one.
  const lines = ['id,name,note'];
  for (let i = 1; i <= ROWS; i++)
    lines.push(i === 777 ? `oops,"bad",x,extra` : `${i},"n${i}","line one\nline ${i % 7}"`);
  writeFileSync(join(p.filesDir, 'big.csv'), `${lines.join('\n')}\n`);
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await app.close();
  await data.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await data.end();
  await p.close();
});

const spec = (name: string, sink: Record<string, unknown>, partitions = 4, maxQuarantine?: number) => ({
  name,
  steps: [
    {
      id: 'load',
      partitions,
      checkpointEvery: 2000,
      ...(maxQuarantine === undefined ? {} : { maxQuarantine }),
      flow: [
        { source: 'csv', with: { path: 'big.csv', schema: { id: 'integer' } } },
        {
          sink: 'postgres',
          with: { url: SERVER_URL, dbSchema: schema, checkpointSchema: schema, createTable: true, ...sink },
        },
      ],
    },
  ],
});

describe('partitioned steps', () => {
  it('spreads the parts over the workers; the table holds every row once and the report sums the parts', async () => {
    const pipeline = await createPipeline(
      p,
      { spec: spec('parts-append', { table: 'rows', verify: 'content' }) },
      'tester',
    );
    const job = await waitForJob(
      p,
      await executePipeline(p, pipeline.id, { triggerType: 'manual' }),
      undefined,
      120_000,
    );
    expect(job.status).toBe('success');
    loaded = job.id;

    const r = await data.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM ${schema}.rows`);
    expect(r.rows[0]).toEqual({ n: ROWS - 1, d: ROWS - 1 });

    const parts = await p.database.db.select().from(stepPartitions).where(eq(stepPartitions.jobId, job.id));
    expect(parts).toHaveLength(4);
    expect(parts.every((x) => x.status === 'success')).toBe(true);
    // Both workers ran parts (each takes two at once: four parts, two workers).
    expect(new Set(parts.map((x) => x.workerId)).size).toBe(2);

    const [step] = await listSteps(p, job.id);
    const report = step!.report as {
      rowsRead: number;
      rowsWritten: number;
      rowsQuarantined: number;
      integrity: { ok: boolean };
      components: {
        kind: string;
        checksum?: string;
        verified?: { level: string; handed?: string; found?: string };
      }[];
    };
    expect(step).toMatchObject({
      status: 'success',
      rowsRead: ROWS,
      rowsWritten: ROWS - 1,
      rowsQuarantined: 1,
    });
    expect(report.integrity.ok).toBe(true);
    const sink = report.components.find((c) => c.kind === 'sink')!;
    expect(sink.verified).toMatchObject({ level: 'content' });
    expect(sink.verified!.handed).toBe(sink.verified!.found);

    // The bad row is in its part's quarantine, with its absolute line in the file.
    const names = (await listArtifacts(p, job.id)).map((a) => a.name);
    const q = names.find((n) => /^load\.partition-\d+\.quarantine\.ndjson$/.test(n));
    expect(q).toBeDefined();
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/jobs/${job.id}/artifacts/${q}`,
      headers: p.auth,
    });
    const entry = JSON.parse(res.body.trim().split('\n')[0]!);
    expect(entry.line).toBe(1 + 2 * 776 + 1);
    // And in the step's own quarantine, joined from its parts, which the quarantine view reads.
    expect(names).toContain('load.quarantine.ndjson');

    const listed = await app.inject({
      method: 'GET',
      url: `/api/v1/jobs/${job.id}/partitions`,
      headers: p.auth,
    });
    expect(listed.statusCode).toBe(200);
    const items = JSON.parse(listed.body).items as { index: number; status: string; rowsRead: number }[];
    expect(items.map((i) => i.index)).toEqual([0, 1, 2, 3]);
    expect(items.reduce((a, i) => a + i.rowsRead, 0)).toBe(ROWS);
  });

  it("replays the step's quarantine, joined from its parts", async () => {
    const replayId = await replayJobQuarantine(p, loaded!, { triggerType: 'manual', triggeredBy: null });
    const replay = await waitForJob(p, replayId, undefined, 120_000);
    expect(replay.status).toBe('success');
    const [step] = await listSteps(p, replayId);
    // The record still has a field too many: taken, and quarantined again; nothing is written twice.
    expect((step!.report as { replay?: unknown }).replay).toMatchObject({
      taken: 1,
      written: 0,
      quarantined: 1,
    });
    const r = await data.query(`SELECT count(*)::int AS n FROM ${schema}.rows`);
    expect(r.rows[0]).toEqual({ n: ROWS - 1 });
  });

  it('refuses a sink mode that cannot take parts at once, at the step’s partitions', async () => {
    await expect(
      createPipeline(p, { spec: spec('parts-truncate', { table: 'rows2', mode: 'truncate' }) }, 'tester'),
    ).rejects.toMatchObject({
      issues: expect.arrayContaining([expect.objectContaining({ path: 'spec.steps[0].partitions' })]),
    });
  });

  it('a failed part fails the step; a retry from it runs that part only, a full re-run cuts afresh', async () => {
    // No bad row allowed: the part holding line 1554 fails, the others succeed.
    const pipeline = await createPipeline(
      p,
      { spec: spec('parts-retry', { table: 'retried' }, 4, 0) },
      'tester',
    );
    const jobId = await executePipeline(p, pipeline.id, { triggerType: 'manual' });
    const failed = await waitForJob(p, jobId, undefined, 120_000);
    expect(failed.status).toBe('failed');
    const [step] = await listSteps(p, jobId);
    expect((step!.error as { code: string; message: string }).message).toMatch(/^partition 1 of 4: /);
    const parts = async () =>
      (await p.database.db.select().from(stepPartitions).where(eq(stepPartitions.jobId, jobId))).sort(
        (a, b) => a.index - b.index,
      );
    const first = await parts();
    expect(first.map((x) => x.status)).toEqual(['failed', 'success', 'success', 'success']);

    await retryJob(p, jobId, true);
    expect((await waitForJob(p, jobId, undefined, 120_000)).status).toBe('failed');
    const again = await parts();
    expect(again.map((x) => x.attempt)).toEqual([2, 1, 1, 1]);
    expect(again.map((x) => x.id)).toEqual(first.map((x) => x.id));

    await retryJob(p, jobId, false);
    expect((await waitForJob(p, jobId, undefined, 120_000)).status).toBe('failed');
    const fresh = await parts();
    expect(fresh).toHaveLength(4);
    expect(fresh.some((x) => first.some((y) => y.id === x.id))).toBe(false);
  });

  it('answers 404 for the partitions of a job that does not exist', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/jobs/00000000-0000-4000-8000-000000000000/partitions',
      headers: p.auth,
    });
    expect(res.statusCode).toBe(404);
  });
});

describe('a worker that shuts down with parts running', () => {
  it('hands them back; another worker resumes them and the table holds every row once', async () => {
    const q = await testPlatform('pglite');
    const rows = 300_000;
    const lines = ['id,name'];
    for (let i = 1; i <= rows; i++) lines.push(`${i},name ${i}`);
    writeFileSync(join(q.filesDir, 'big.csv'), `${lines.join('\n')}\n`);
    let b: Worker | undefined;
    try {
      const a = await startWorker(q, { concurrency: 1, partitionConcurrency: 2 });
      const pipeline = await createPipeline(
        q,
        { spec: spec('parts-handback', { table: 'handback' }) },
        'tester',
      );
      const jobId = await executePipeline(q, pipeline.id, { triggerType: 'manual' });
      for (;;) {
        const parts = await q.database.db
          .select()
          .from(stepPartitions)
          .where(eq(stepPartitions.jobId, jobId));
        if (parts.some((x) => x.status === 'running' && x.checkpoint !== null)) break;
        if (parts.length > 0 && parts.every((x) => x.status === 'success'))
          throw new Error('too fast to stop mid-way');
        await new Promise((r) => setTimeout(r, 20));
      }
      await a.stop({ graceMs: 0 });
      const handed = await q.database.db.select().from(stepPartitions).where(eq(stepPartitions.jobId, jobId));
      expect(handed.some((x) => x.status === 'pending')).toBe(true);
      expect(handed.every((x) => x.status !== 'cancelled' && x.status !== 'failed')).toBe(true);
      b = await startWorker(q, { concurrency: 1, partitionConcurrency: 2 });
      const job = await waitForJob(q, jobId, undefined, 120_000);
      expect(job.status).toBe('success');
      const r = await data.query(
        `SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM ${schema}.handback`,
      );
      expect(r.rows[0]).toEqual({ n: rows, d: rows });
    } finally {
      await b?.stop();
      await q.close();
    }
  });
});
