import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { AMQP_URL, freshQueue, publish, queueDepth } from '../../connectors/test/amqp.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL } from '../../connectors/test/pg-schema.ts';
import { executePipeline, listSteps } from '../src/services/jobs.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { startWorker } from '../src/worker/worker.ts';
import { type TestPlatform, testPlatform, waitForJob } from './helpers/platform.ts';
import { spawnWorker } from './helpers/worker-process.ts';

// Issue 19 on the platform: the worker running a stream is killed with SIGKILL mid-stream; another
// worker takes the job up (after the heartbeat lapses) and resumes it from its last checkpoint.
// The broker delivers again what was not acknowledged; the upsert keeps each message once.
const N = 20_000;
const db = freshSchemaPerTest();
let p: TestPlatform;
beforeAll(async () => {
  p = await testPlatform('postgres', { jobAttempts: 3 });
});
afterAll(async () => {
  await p.close();
});

it('takes up a stream whose worker was killed, with every message once in the table', async () => {
  const queue = await freshQueue('worker-crash');
  await publish(
    queue,
    Array.from({ length: N }, (_, i) => ({ id: i + 1, name: `order ${i + 1}` })),
    false,
  );
  await db.admin.query(`CREATE TABLE ${db.schema}.orders (id bigint PRIMARY KEY, name text)`);
  const pipeline = await createPipeline(
    p,
    {
      spec: {
        name: 'stream-crash',
        flow: [
          {
            source: 'rabbitmq',
            with: {
              url: AMQP_URL,
              queue,
              prefetch: 20,
              batchSize: 20,
              meta: false,
              stopAfter: { idleSeconds: 3 },
            },
          },
          {
            sink: 'postgres',
            with: {
              url: TEST_DATABASE_URL,
              dbSchema: db.schema,
              table: 'orders',
              mode: 'upsert',
              key: ['id'],
            },
          },
        ],
      },
    },
    null,
  );
  const a = await spawnWorker(p);
  onTestFinished(() => a.stop());
  const jobId = await executePipeline(p, pipeline.id, { triggerType: 'api' });
  // Killed mid-stream: some rows read and checkpointed, most still in the queue.
  for (;;) {
    const [s] = await listSteps(p, jobId);
    if (s!.status === 'running' && s!.rowsRead >= 500) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  a.child.kill('SIGKILL');
  await new Promise((r) => a.child.once('exit', r));
  expect(await queueDepth(queue)).toBeGreaterThan(0);

  const b = await startWorker(p, { killGraceMs: 1000 });
  try {
    const job = await waitForJob(p, jobId, (s) => s === 'success' || s === 'failed', 120_000);
    expect(job).toMatchObject({ status: 'success', attempt: 2, workerId: b.id });
  } finally {
    await b.stop();
  }
  const { rows } = await db.admin.query<{ n: string; distinct: string; wrong: string }>(
    `SELECT count(*) AS n, count(DISTINCT id) AS distinct,
            count(*) FILTER (WHERE name <> 'order ' || id) AS wrong FROM ${db.schema}.orders`,
  );
  expect(rows[0]).toEqual({ n: String(N), distinct: String(N), wrong: '0' });
  expect(await queueDepth(queue)).toBe(0);
}, 180_000);
