import pg from 'pg';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { executePipeline, listSteps } from '../src/services/jobs.ts';
import { loadStepStates } from '../src/services/pipeline-state.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { startWorker } from '../src/worker/worker.ts';
import { type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';
import { spawnWorker } from './helpers/worker-process.ts';

// Issue 14 §1 on the platform: a worker killed with SIGKILL in the middle of an incremental step.
// Its job is taken up by another worker (which has not the first one's workspace, so the step
// starts afresh from the pipeline's saved cursor); the upsert sink then holds each row once, and
// the cursor is saved only by the attempt that succeeded.

const ROWS = 300_000;
let p: TestPlatform;
let url: string;
let data: pg.Client;
const schema = `t_pstate_crash_${process.pid}`;

beforeAll(async () => {
  p = await testPlatform('postgres', { jobAttempts: 2 });
  url = p.database.url!;
  data = new pg.Client({ connectionString: url });
  await data.connect();
  await data.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await data.query(`CREATE SCHEMA ${schema}`);
  await data.query(`CREATE TABLE ${schema}.src (id integer PRIMARY KEY, note text)`);
});
afterAll(async () => {
  await data.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await data.end();
  await p.close();
});

const insert = (from: number, to: number) =>
  data.query(`INSERT INTO ${schema}.src SELECT i, repeat('x', 40) FROM generate_series(${from}, ${to}) AS i`);
const committedSeq = async () => {
  try {
    const r = await data.query(`SELECT max(seq)::int AS seq FROM ${schema}.checkpoints`);
    return (r.rows[0]?.seq as number | null) ?? 0;
  } catch {
    return 0;
  }
};

it('a job whose worker was killed mid-step completes on another; each row once, the cursor at the end', async () => {
  const pipeline = await createPipeline(
    p,
    {
      spec: {
        name: 'incr-crash',
        checkpointEvery: 10000,
        flow: [
          {
            source: 'postgres',
            with: { url, dbSchema: schema, table: 'src', batchSize: 5000, incremental: { column: 'id' } },
          },
          {
            sink: 'postgres',
            with: {
              url,
              dbSchema: schema,
              checkpointSchema: schema,
              table: 'dst',
              createTable: true,
              mode: 'upsert',
              key: ['id'],
            },
          },
        ],
      },
    },
    null,
  );
  const rowsRead = async (jobId: string) => (await listSteps(p, jobId))[0]!.rowsRead;

  await insert(1, 10);
  const a = await spawnWorker(p);
  onTestFinished(() => a.stop());
  const first = await executePipeline(p, pipeline.id, { triggerType: 'api' });
  expect((await waitForJob(p, first, undefined, 60_000)).status).toBe('success');
  expect(await rowsRead(first)).toBe(10);
  expect((await loadStepStates(p.database.db, pipeline.id)).get('main')).toEqual({ cursor: 10 });

  await insert(11, 10 + ROWS);
  const jobId = await executePipeline(p, pipeline.id, { triggerType: 'api' });
  const deadline = Date.now() + 60_000;
  while ((await committedSeq()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  a.child.kill('SIGKILL');
  await new Promise((r) => a.child.once('exit', r));
  expect((await loadStepStates(p.database.db, pipeline.id)).get('main')).toEqual({ cursor: 10 });
  const partial = await data.query(`SELECT count(*)::int AS n FROM ${schema}.dst`);
  expect(partial.rows[0].n).toBeLessThan(10 + ROWS);

  const b = await startWorker(p, { killGraceMs: 1000 });
  try {
    const job = await waitForJob(p, jobId, (s) => s === 'success' || s === 'failed', 90_000);
    expect(job, JSON.stringify(job.error)).toMatchObject({ status: 'success', attempt: 2 });
    const r = await data.query(
      `SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, max(id)::int AS hi FROM ${schema}.dst`,
    );
    expect(r.rows[0]).toEqual({ n: 10 + ROWS, d: 10 + ROWS, hi: 10 + ROWS });
    expect((await loadStepStates(p.database.db, pipeline.id)).get('main')).toEqual({ cursor: 10 + ROWS });
    const next = await executePipeline(p, pipeline.id, { triggerType: 'api' });
    expect((await waitForJob(p, next, undefined, 60_000)).status).toBe('success');
    expect(await rowsRead(next)).toBe(0);
  } finally {
    await b.stop();
  }
});
