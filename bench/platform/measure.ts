import { and, eq, inArray } from 'drizzle-orm';
import { PgBoss } from 'pg-boss';
import { jobExecutions } from '../../packages/server/src/db/schema.ts';
import {
  type Database,
  executePipeline,
  openPlatform,
  type Platform,
} from '../../packages/server/src/index.ts';
import { createQueue } from '../../packages/server/src/queue/boss.ts';
import { createPipeline } from '../../packages/server/src/services/pipelines.ts';

export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

/** Raw pg-boss on the same database: no-op jobs drained per second, and send → handler latency. */
export async function rawBoss(database: Database, jobs: number, probes: number) {
  const boss = await createQueue(database);
  const q = 'bench-raw';
  await boss.createQueue(q);
  await boss.insert(
    q,
    Array.from({ length: jobs }, (_, i) => ({ data: { i } })),
  );
  let done = 0;
  const t0 = performance.now();
  let finish!: () => void;
  const drained = new Promise<void>((r) => {
    finish = r;
  });
  await boss.work(
    q,
    { batchSize: 50, localConcurrency: 2, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true },
    async (batch) => {
      done += batch.length;
      if (done >= jobs) finish();
    },
  );
  await drained;
  const rate = jobs / ((performance.now() - t0) / 1000);
  await boss.offWork(q);
  const lat: number[] = [];
  const probeQ = 'bench-raw-latency';
  await boss.createQueue(probeQ, { notify: true } as never);
  let resolveProbe: ((t: number) => void) | undefined;
  await boss.work(
    probeQ,
    { batchSize: 1, pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 },
    async () => {
      resolveProbe?.(performance.now());
    },
  );
  for (let i = 0; i < probes; i++) {
    const got = new Promise<number>((r) => {
      resolveProbe = r;
    });
    const sent = performance.now();
    await boss.send(probeQ, { i });
    lat.push((await got) - sent);
    await new Promise((r) => setTimeout(r, 50));
  }
  await boss.stop({ graceful: false });
  return { rate, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99) };
}

const noop = { name: 'noop', steps: [{ id: 'noop', task: 'shell', with: { command: ['true'] } }] };

async function waitAll(p: Platform, ids: string[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const rows = await p.database.db
      .select({ id: jobExecutions.id })
      .from(jobExecutions)
      .where(
        and(
          inArray(jobExecutions.id, ids),
          inArray(jobExecutions.status, ['success', 'failed', 'cancelled', 'timeout']),
        ),
      );
    if (rows.length === ids.length) return;
    if (Date.now() > end) throw new Error(`${rows.length} of ${ids.length} jobs finished in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sluice end to end: execute → success of one-step no-op pipeline jobs, and execute → step start. */
export async function sluiceJobs(p: Platform, jobs: number, probes: number) {
  const pipeline = await createPipeline(p, { spec: noop }, 'bench');
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < jobs; i++) ids.push(await executePipeline(p, pipeline.id, { triggerType: 'api' }));
  await waitAll(p, ids, 30 * 60_000);
  const rate = jobs / ((performance.now() - t0) / 1000);
  const lat: number[] = [];
  for (let i = 0; i < probes; i++) {
    const id = await executePipeline(p, pipeline.id, { triggerType: 'api' });
    await waitAll(p, [id], 60_000);
    const [j] = await p.database.db.select().from(jobExecutions).where(eq(jobExecutions.id, id));
    lat.push(j!.startedAt!.getTime() - j!.createdAt.getTime());
  }
  return { rate, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99) };
}

export { openPlatform, PgBoss };
