import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stepPartitions } from '../src/db/schema.ts';
import { executePipeline, listSteps } from '../src/services/jobs.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';
import { spawnWorker } from './helpers/worker-process.ts';

// Issue 21 §2's chaos test: two `sluice worker` processes, each with a data directory of its own (as
// on two machines), run the parts of a partitioned CSV → PostgreSQL step; one is killed with SIGKILL
// while its parts are mid-way. The other takes them over from the checkpoints the database keeps,
// and the job as well if the killed worker held it: the table holds every row exactly once.

const ROWS = 2_000_000;
const schema = `t_parts_crash_${process.pid}`;
let p: TestPlatform;
let data: pg.Client;

beforeAll(async () => {
  p = await testPlatform('postgres', { jobAttempts: 3 });
  data = new pg.Client({ connectionString: p.database.url! });
  await data.connect();
  await data.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await data.query(`CREATE SCHEMA ${schema}`);
  const out = createWriteStream(join(p.filesDir, 'big.csv'));
  out.write('id,name,amount\n');
  for (let i = 1; i <= ROWS; i += 10_000) {
    let chunk = '';
    for (let j = i; j < i + 10_000; j++) chunk += `${j},name ${j},${j % 1000}.5\n`;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}, 60_000);
afterAll(async () => {
  await data.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await data.end();
  await p.close();
});

it('a worker killed mid-way through its parts: another finishes them, each row once', async () => {
  const pipeline = await createPipeline(
    p,
    {
      spec: {
        name: 'parts-crash',
        steps: [
          {
            id: 'load',
            partitions: 4,
            checkpointEvery: 50_000,
            flow: [
              { source: 'csv', with: { path: 'big.csv', schema: { id: 'integer', amount: 'number' } } },
              {
                sink: 'postgres',
                with: {
                  url: p.database.url!,
                  dbSchema: schema,
                  checkpointSchema: schema,
                  table: 'rows',
                  createTable: true,
                },
              },
            ],
          },
        ],
      },
    },
    null,
  );
  const a = await spawnWorker(p);
  const b = await spawnWorker(p);
  try {
    const jobId = await executePipeline(p, pipeline.id, { triggerType: 'api' });
    // Killed once one of its parts has committed a checkpoint and is still running: its second
    // checkpoint is kept only after its first one was committed at the destination.
    let victim: string | undefined;
    let midPart: string | undefined;
    const deadline = Date.now() + 120_000;
    while (!victim) {
      const parts = await p.database.db.select().from(stepPartitions).where(eq(stepPartitions.jobId, jobId));
      const seq = (x: (typeof parts)[number]) =>
        (x.checkpoint as { current?: { seq: number } } | null)?.current?.seq ?? 0;
      const mid = parts.find((x) => x.status === 'running' && seq(x) >= 2 && x.workerId !== null);
      if (mid) {
        victim = mid.workerId!;
        midPart = mid.id;
      } else if (parts.length > 0 && parts.every((x) => x.status === 'success'))
        throw new Error('every part finished before one could be killed mid-way: give the test more rows');
      if (Date.now() > deadline) throw new Error('no part reached a checkpoint in time');
      await new Promise((r) => setTimeout(r, 25));
    }
    const [killed, survivor] = victim === a.id ? [a, b] : [b, a];
    killed.child.kill('SIGKILL');
    await new Promise((r) => killed.child.once('exit', r));

    const job = await waitForJob(p, jobId, (s) => s === 'success' || s === 'failed', 180_000);
    const [step] = await listSteps(p, jobId);
    expect(step?.error ?? null).toBeNull();
    expect(job.status).toBe('success');
    const parts = await p.database.db.select().from(stepPartitions).where(eq(stepPartitions.jobId, jobId));
    expect(parts.every((x) => x.status === 'success')).toBe(true);
    // The killed worker's parts were taken over (a second attempt each) and finished by the other.
    const taken = parts.filter((x) => x.attempt > 1);
    expect(taken.length).toBeGreaterThan(0);
    for (const x of taken) expect(x.workerId).toBe(survivor.id);
    // The part killed mid-way resumed on the other worker from the checkpoint the database kept
    // (that worker's disk never had it).
    const resumed = parts.find((x) => x.id === midPart)!;
    expect((resumed.report as { resumedFromRow?: number }).resumedFromRow).toBeGreaterThanOrEqual(50_000);
    const r = await data.query(
      `SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, sum(id)::text AS s FROM ${schema}.rows`,
    );
    expect(r.rows[0]).toEqual({ n: ROWS, d: ROWS, s: String((ROWS * (ROWS + 1)) / 2) });
    expect(step).toMatchObject({ status: 'success', rowsRead: ROWS, rowsWritten: ROWS });
    expect((step!.report as { integrity: { ok: boolean } }).integrity.ok).toBe(true);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}, 300_000);
