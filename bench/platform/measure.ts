import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, inArray } from 'drizzle-orm';
import pg from 'pg';
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

/** The job each case runs: a `true` command in a step process, or a query in the worker itself. */
export const NOOP_SPECS = {
  shell: { name: 'noop', steps: [{ id: 'noop', task: 'shell', with: { command: ['true'] } }] },
  inWorker: {
    name: 'noop-in-worker',
    isolation: 'none',
    steps: [{ id: 'noop', task: 'sql', with: { url: 'sqlite:bench-noop.db', sql: 'SELECT 1' } }],
  },
} as const;

let polls = 0;

async function waitAll(p: Platform, ids: string[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    polls++;
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

/** CPU milliseconds used so far by this process, its live descendants and the PostgreSQL server. */
export function machineCpuMs(): number {
  const { ours, postgres } = cpuSplitMs();
  return ours + postgres;
}

/** machineCpuMs apart: this process with its live descendants, and the PostgreSQL server's processes. */
export function cpuSplitMs(): { ours: number; postgres: number } {
  const procs: { pid: number; ppid: number; cmd: string; ms: number }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'latin1');
      // utime, stime and the reaped children's cutime and cstime (each step's command), in ticks of 10 ms
      const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      procs.push({ pid: Number(name), ppid: Number(f[1]), cmd, ms: ticks * 10 });
    } catch {
      // gone since the listing
    }
  }
  const ours = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!ours.has(p.pid) && ours.has(p.ppid)) grew = ours.add(p.pid) !== undefined;
  }
  const sum = (f: (p: (typeof procs)[number]) => boolean) => procs.filter(f).reduce((a, p) => a + p.ms, 0);
  // A backend that ended (a step's connection closed) is counted in the postmaster's cutime: the
  // server's processes are the postmaster (its path ends in /postgres) and those it named `postgres: …`.
  const server = (p: (typeof procs)[number]) =>
    p.cmd.startsWith('postgres') || /\/postgres$/.test(p.cmd.split('\0')[0] ?? '');
  return {
    ours: sum((p) => ours.has(p.pid)),
    postgres: sum((p) => !ours.has(p.pid) && server(p)),
  };
}

/**
 * Database transactions made so far by the bench and the worker processes `pids` (each started
 * with tx-count.mjs preloaded, see countTransactions), read from the counters those keep.
 */
export type TransactionCount = () => Promise<{ transactions: number; statements: number }>;

/**
 * Sets this process up to count its transactions; answers the environment that makes a child
 * count its own (given to the workers only: the idle server's memory must not hold `pg`) and the
 * reader for the workers given.
 */
export async function countTransactions(): Promise<{
  env: NodeJS.ProcessEnv;
  counter: (pids: number[]) => TransactionCount;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-tx-'));
  process.env.SLUICE_BENCH_TX_DIR = dir;
  const preload = new URL('./tx-count.mjs', import.meta.url).href;
  const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${preload}`.trim() };
  const local = await import('./tx-count.mjs');
  const counter =
    (pids: number[]): TransactionCount =>
    async () => {
      for (const pid of pids) rmSync(join(dir, `${pid}.json`), { force: true });
      for (const pid of pids) process.kill(pid, 'SIGUSR2');
      const sum = { transactions: local.transactions, statements: local.statements };
      for (const pid of pids) {
        const file = join(dir, `${pid}.json`);
        for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 20));
        const n = JSON.parse(readFileSync(file, 'utf8')) as { transactions: number; statements: number };
        sum.transactions += n.transactions;
        sum.statements += n.statements;
      }
      return sum;
    };
  return { env, counter };
}

/** Trivial statements per second over 4 sessions: what one round trip to the database costs here. */
export async function roundTrips(url: string): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  await pool.query('SELECT 1');
  let n = 0;
  const end = performance.now() + 3000;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (performance.now() < end) {
        await pool.query('SELECT 1');
        n++;
      }
    }),
  );
  await pool.end();
  return n / 3;
}

/** Jobs the bench keeps in flight through `execute`, as many API clients would. */
const SENDERS = 16;

/**
 * Sluice end to end: execute → success of one-step no-op pipeline jobs (executes sent by 16
 * concurrent callers), and execute → step start. On a server, also the CPU and the database
 * transactions one job costs.
 */
export async function sluiceJobs(
  p: Platform,
  jobs: number,
  probes: number,
  spec: (typeof NOOP_SPECS)[keyof typeof NOOP_SPECS] = NOOP_SPECS.shell,
  transactions?: TransactionCount,
) {
  const pipeline = await createPipeline(p, { spec }, 'bench');
  const tx0 = await transactions?.();
  const polls0 = polls;
  const cpu0 = machineCpuMs();
  const t0 = performance.now();
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < jobs) {
        next++;
        ids.push(await executePipeline(p, pipeline.id, { triggerType: 'api' }));
      }
    }),
  );
  await waitAll(p, ids, 30 * 60_000);
  const runMs = performance.now() - t0;
  const rate = jobs / (runMs / 1000);
  const cpuPerJob = (machineCpuMs() - cpu0) / jobs;
  // Less the bench's own: its polling for the end.
  const tx1 = await transactions?.();
  const polled = polls - polls0;
  const txPerJob = tx0 && tx1 ? (tx1.transactions - tx0.transactions - polled) / jobs : Number.NaN;
  const statementsPerJob = tx0 && tx1 ? (tx1.statements - tx0.statements - polled) / jobs : Number.NaN;
  const lat: number[] = [];
  for (let i = 0; i < probes; i++) {
    const id = await executePipeline(p, pipeline.id, { triggerType: 'api' });
    await waitAll(p, [id], 60_000);
    const [j] = await p.database.db.select().from(jobExecutions).where(eq(jobExecutions.id, id));
    lat.push(j!.startedAt!.getTime() - j!.createdAt.getTime());
  }
  return { rate, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), cpuPerJob, txPerJob, statementsPerJob };
}

/** The bench's PostgreSQL server. */
export const SERVER = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A new, empty database on the bench's PostgreSQL server. */
export async function freshDatabase(): Promise<string> {
  const name = `sluice_bench_${Date.now()}`;
  const c = new pg.Client({ connectionString: SERVER });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(SERVER);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: SERVER });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
  await c.end();
}

export { openPlatform, PgBoss };
