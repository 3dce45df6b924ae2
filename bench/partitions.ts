/**
 * `npm run bench:partitions`: a partitioned CSV → PostgreSQL flow (W1's, on the 5M-row data) run as
 * a platform job on 1, 2 and 4 `sluice worker` processes against one PostgreSQL server, beside the
 * same flow unpartitioned on one worker. Reports rows/s, and CPU per million rows split into
 * Sluice's processes and PostgreSQL's, and works out on paper what more machines would give.
 * Writes the "Partitioned flows" section of bench/RESULTS.md.
 * Options: --rows N (5000000), --partitions N (8), --workers 1,2,4. BENCH_PARTS_TRACE=1 prints when
 * each part ran, and on which worker.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRegistry } from '@sluice/connectors';
import { eq } from 'drizzle-orm';
import { jobExecutions, stepPartitions } from '../packages/server/src/db/schema.ts';
import { executePipeline, listSteps } from '../packages/server/src/services/jobs.ts';
import { createPipeline } from '../packages/server/src/services/pipelines.ts';
import { spawnWorker } from '../packages/server/test/helpers/worker-process.ts';
import { ensureData } from './generate.ts';
import { DATABASE_URL, recreateTable, SCHEMA, tableStats } from './lib/pg.ts';
import { cpuSplitMs, dropDatabase, freshDatabase, openPlatform } from './platform/measure.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '5000000' },
    partitions: { type: 'string', default: '8' },
    workers: { type: 'string', default: '1,2,4' },
  },
});
const rows = Number(values.rows);
const partitions = Number(values.partitions);
const workerCounts = values.workers.split(',').map(Number);
const dataDir = join(import.meta.dirname, 'data');
const file = join(import.meta.dirname, 'RESULTS.md');
const TABLE = 'parts_sluice';
const log = (m: string) => void process.stderr.write(`${m}\n`);

const data = ensureData(dataDir, rows);
const csv = data.csvPath.slice(dataDir.length + 1);

/** W1's flow (bench/specs/w1.yaml), with the step's `partitions` when given. */
const spec = (name: string, parts?: number) => ({
  name,
  steps: [
    {
      id: 'load',
      ...(parts ? { partitions: parts } : {}),
      flow: [
        {
          source: 'csv',
          with: {
            path: csv,
            schema: { id: 'integer', amount: 'number', quantity: 'integer', active: 'boolean' },
          },
        },
        { transform: 'filter', with: { where: 'active == true' } },
        { transform: 'map', with: { set: { total: 'amount * quantity', country: 'country.upperAscii()' } } },
        { sink: 'postgres', with: { url: DATABASE_URL, dbSchema: SCHEMA, table: TABLE, mode: 'append' } },
      ],
    },
  ],
});

interface Run {
  label: string;
  workers: number;
  parts: number;
  seconds: number;
  sluiceMsPerM: number;
  postgresMsPerM: number;
  /** Parts each worker ran. */
  spread: string;
}

const url = await freshDatabase();
const p = await openPlatform({
  databaseUrl: url,
  dataDir: mkdtempSync(join(tmpdir(), 'bench-parts-')),
  registry: createRegistry(),
  filesDir: dataDir,
});
const results: Run[] = [];
try {
  const cases = [
    { label: 'unpartitioned (one step process, its threads)', workers: 1, parts: 0 },
    ...workerCounts.map((n) => ({ label: `${partitions} partitions`, workers: n, parts: partitions })),
  ];
  for (const c of cases) {
    log(`${c.label} on ${c.workers} worker(s) …`);
    recreateTable(TABLE);
    // One part (or job) at a time per worker: the workers, not the slots, are what is scaled.
    const flags = ['--concurrency', '1', '--partition-concurrency', '1'];
    const workers = await Promise.all(
      Array.from({ length: c.workers }, () => spawnWorker({ ...p, filesDir: dataDir }, flags)),
    );
    try {
      const pipeline = await createPipeline(
        p,
        { spec: spec(`bench-parts-${results.length}`, c.parts || undefined) },
        'bench',
      );
      const cpu0 = cpuSplitMs();
      const t0 = performance.now();
      const t0Date = Date.now();
      const jobId = await executePipeline(p, pipeline.id, { triggerType: 'api' });
      for (;;) {
        const [j] = await p.database.db.select().from(jobExecutions).where(eq(jobExecutions.id, jobId));
        if (j!.status === 'success') break;
        if (['failed', 'cancelled', 'timeout'].includes(j!.status)) {
          const [s] = await listSteps(p, jobId);
          throw new Error(`job ${jobId} ${j!.status}: ${JSON.stringify(s?.error ?? j!.error)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const seconds = (performance.now() - t0) / 1000;
      const cpu1 = cpuSplitMs();
      const stats = tableStats(TABLE);
      if (stats.rows !== data.activeRows || stats.quantitySum !== data.activeQuantitySum)
        throw new Error(
          `${c.label}: the table holds ${stats.rows} rows (quantity ${stats.quantitySum}); expected ${data.activeRows} (${data.activeQuantitySum})`,
        );
      const parts = await p.database.db.select().from(stepPartitions).where(eq(stepPartitions.jobId, jobId));
      if (process.env.BENCH_PARTS_TRACE)
        for (const x of parts.sort((a, b) => a.index - b.index))
          log(
            `  part ${x.index}: ${x.workerId?.slice(-6)} ${x.startedAt!.getTime() - t0Date} → ${x.completedAt!.getTime() - t0Date} ms, attempt ${x.attempt}`,
          );
      const per = new Map<string, number>();
      for (const x of parts) per.set(x.workerId ?? '?', (per.get(x.workerId ?? '?') ?? 0) + 1);
      const millions = rows / 1e6;
      results.push({
        label: c.label,
        workers: c.workers,
        parts: parts.length,
        seconds,
        sluiceMsPerM: (cpu1.ours - cpu0.ours) / millions,
        postgresMsPerM: (cpu1.postgres - cpu0.postgres) / millions,
        spread: parts.length ? [...per.values()].sort((a, b) => b - a).join(' + ') : '–',
      });
      log(`  ${seconds.toFixed(1)} s`);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  }
} finally {
  await p.close();
  await dropDatabase(url);
}

const cores = availableParallelism();
const rate = (r: Run) => rows / r.seconds;
const part = results.filter((r) => r.parts > 0);
const best = part.reduce((a, r) => (rate(r) > rate(a) ? r : a), part[0]!);
const one = part.find((r) => r.workers === 1) ?? part[0]!;
const whole = results.find((r) => r.parts === 0);
// What N machines would give: the Sluice side grows with the cores that run parts; PostgreSQL's
// share of each row stays on the one server and bounds it.
const sluiceCoreRate = 1e9 / one.sluiceMsPerM; // rows/s one core of Sluice work gives
const pgCoreRate = 1e9 / one.postgresMsPerM; // rows/s one core of PostgreSQL's work takes
const machines = [1, 2, 4, 8].map((n) => {
  const sluice = n * cores * sluiceCoreRate;
  return { n, sluice, bound: Math.min(sluice, cores * pgCoreRate) };
});
const f0 = (n: number) => n.toFixed(0);
const md = `<!-- partitions -->
## Partitioned flows over many workers

Generated by \`npm run bench:partitions\` on ${new Date().toISOString()} (${cores} × ${cpus()[0]?.model ?? 'CPU'}):
W1's flow (CSV → filter → map → PostgreSQL, ${rows.toLocaleString('en')} rows, ${data.activeRows.toLocaleString('en')} written) run as a platform
job on PostgreSQL, each \`sluice worker\` process running one job or one part at a time
(\`--concurrency 1 --partition-concurrency 1\`), all loading one table. Time is execute → job success,
the cut of the input included; every run's table is checked (rows and the sum of \`quantity\`). CPU is
that of every process: the bench (as the API), the workers and their step processes ("Sluice"), and
the PostgreSQL server's processes.

| run | workers | parts | parts per worker | seconds | rows/s | Sluice CPU per million rows (ms) | PostgreSQL CPU per million rows (ms) |
|---|---:|---:|---|---:|---:|---:|---:|
${results.map((r) => `| ${r.label} | ${r.workers} | ${r.parts || '–'} | ${r.spread} | ${r.seconds.toFixed(1)} | ${f0(rate(r))} | ${f0(r.sluiceMsPerM)} | ${f0(r.postgresMsPerM)} |`).join('\n')}

On this ${cores}-core machine every worker, its step processes and PostgreSQL share the same cores:
one worker running one part at a time already keeps ${(((one.sluiceMsPerM + one.postgresMsPerM) * rows) / 1e6 / 1000 / one.seconds).toFixed(1)} of them busy (the part's process and the
server's COPY), so more workers only take turns, and the best partitioned run (${best.workers} worker(s), ${f0(rate(best))} rows/s)
is bounded by the cores, not by the workers. Partitioning costs ${f0(100 * (one.sluiceMsPerM / (whole?.sluiceMsPerM ?? one.sluiceMsPerM) - 1))}% more of Sluice's CPU per row than
the unpartitioned flow here: the cut reads the input once more, and each part starts its own process
and connections. On paper, from the 1-worker partitioned run: a core of Sluice work
handles ${f0(sluiceCoreRate)} rows/s and a core of PostgreSQL's handles ${f0(pgCoreRate)} rows/s. With N worker machines of
${cores} cores each and one PostgreSQL server of ${cores} cores, the workers would give N × ${f0(cores * sluiceCoreRate)} rows/s until the
server's share bounds it at about ${f0(cores * pgCoreRate)} rows/s (COPY into one table; a bigger server, or a table
per part, moves that bound):

| worker machines | Sluice side (rows/s) | bounded by one ${cores}-core PostgreSQL (rows/s) |
|---:|---:|---:|
${machines.map((m) => `| ${m.n} | ${f0(m.sluice)} | ${f0(m.bound)} |`).join('\n')}
`;

const old = readFileSync(file, 'utf8');
const at = old.indexOf('<!-- partitions -->');
// The section ends where the next one starts: a marker or a heading after its own.
const own = at >= 0 ? old.indexOf('\n## ', at) + 1 : -1;
const ends = own > 0 ? [old.indexOf('\n<!-- ', own), old.indexOf('\n## ', own)].filter((i) => i >= 0) : [];
const next = ends.length ? Math.min(...ends) + 1 : -1;
const platform = old.indexOf('<!-- platform -->');
const out =
  at >= 0
    ? `${old.slice(0, at)}${md}\n${next >= 0 ? old.slice(next) : ''}`
    : platform >= 0
      ? `${old.slice(0, platform)}${md}\n${old.slice(platform)}`
      : `${old.trimEnd()}\n\n${md}`;
writeFileSync(file, out);
console.log(md);
