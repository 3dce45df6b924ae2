/**
 * `npm run bench [-- options]`: generates the data, times every runner on W1 (CSV → PostgreSQL),
 * W2 (CSV → NDJSON), W2 from S3 (the CSV in an S3-compatible server), W5 (Parquet → Parquet), W7
 * (an HTTP API → NDJSON), W8 (a RabbitMQ queue → PostgreSQL) and
 * CSV parsers alone (parse), checks every runner's row counts and writes bench/RESULTS.md.
 * Exits 1 when any runner failed or delivered the wrong number of rows.
 *
 * Options: --rows N (1000000), --reps N (3), --workloads w1,w2,w2-s3,w3,w4,w5,w6,w7,w8,parse (some only:
 * their sections replace those in --out, the rest is kept),
 * --runners sluice,sluice-content,sluice-local,no-lookup,floor,naive-node,duckdb,udsv,csv-parse,
 * --rss-growth (also runs W2 Sluice on --growth-rows, default 5000000, to check memory stays flat),
 * --out FILE (bench/RESULTS.md).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type DataSet, ensureData } from './generate.ts';
import { httpRunners, startApi } from './lib/http-runners.ts';
import { sql } from './lib/pg.ts';
import {
  type Growth,
  medianWall,
  peakRss,
  type RunnerResult,
  renderResults,
  spliceResults,
} from './lib/report.ts';
import {
  type BenchContext,
  RUNNER_IDS,
  type Runner,
  runnersFor,
  sluiceCliExists,
  WORKLOADS,
  type Workload,
} from './lib/runners.ts';
import { startS3 } from './lib/s3.ts';
import { s3Runners } from './lib/s3-runners.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(benchDir);
const dataDir = join(benchDir, 'data');

const { values: opts } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    reps: { type: 'string', default: '3' },
    workloads: { type: 'string', default: WORKLOADS.join(',') },
    runners: { type: 'string', default: RUNNER_IDS.join(',') },
    'rss-growth': { type: 'boolean', default: false },
    'growth-rows': { type: 'string', default: '5000000' },
    out: { type: 'string', default: join(benchDir, 'RESULTS.md') },
  },
});
const rows = Number(opts.rows);
const reps = Number(opts.reps);
const workloads = opts.workloads.split(',') as Workload[];
const only = new Set(opts.runners.split(','));
for (const w of workloads)
  if (!WORKLOADS.includes(w))
    throw new Error(`--workloads: unknown workload ${w}; use ${WORKLOADS.join(',')}`);
for (const r of only)
  if (!(RUNNER_IDS as readonly string[]).includes(r))
    throw new Error(`--runners: unknown runner ${r}; use ${RUNNER_IDS.join(',')}`);
if (!(rows > 0 && reps > 0)) throw new Error('--rows and --reps must be positive integers');

const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

function context(data: DataSet): BenchContext {
  const outDir = join(dataDir, 'out');
  mkdirSync(outDir, { recursive: true });
  return { repoRoot, benchDir, dataDir, outDir, data };
}

function prepareData(n: number): DataSet {
  log(`data: ${n} rows …`);
  const t0 = performance.now();
  const data = ensureData(dataDir, n);
  log(
    `data: ${relative(repoRoot, data.csvPath)}, ${(data.bytes / 1e6).toFixed(0)} MB, ${data.activeRows} active rows (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return data;
}

/** Runs the runners `reps` times, interleaved so that drift in the machine hits all of them alike. */
async function runAll(runners: Runner[], times: number, tag: string): Promise<RunnerResult[]> {
  const results = runners.map(
    (r): RunnerResult => ({ id: r.id, workload: r.workload, label: r.label, samples: [] }),
  );
  for (let rep = 1; rep <= times; rep++) {
    for (const [i, runner] of runners.entries()) {
      const result = results[i]!;
      if (result.error) continue;
      try {
        await runner.prepare();
        const s = await runner.run();
        runner.verify();
        result.samples.push(s);
        const note = runner.note?.();
        if (note) result.note = note;
        log(
          `${tag} ${runner.workload} ${runner.id} rep ${rep}: ${(s.wallMs / 1000).toFixed(2)} s, ${(s.peakRssBytes / 1e6).toFixed(0)} MB`,
        );
      } catch (err) {
        result.error = err instanceof Error ? err.message : String(err);
        log(`\n!!! ${tag} ${runner.workload} ${runner.id} FAILED on rep ${rep}:\n${result.error}\n`);
      }
    }
  }
  return results;
}

/** Other work on the machine skews every figure; the load averages say how quiet it was. */
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

function machine(loadBefore: string): Record<string, string> {
  const pkg = (name: string): string =>
    (
      JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  const pgSettings = sql(
    "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ', ' ORDER BY name) FROM pg_settings " +
      "WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'wal_level', 'max_wal_size')",
  );
  return {
    CPU: `${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    OS: `${type()} ${release()}`,
    Node: process.version,
    PostgreSQL: `${sql('SHOW server_version')} on 127.0.0.1 (${pgSettings})`,
    'DuckDB (@duckdb/node-api)': pkg('@duckdb/node-api'),
    udsv: pkg('udsv'),
    'csv-parse': pkg('csv-parse'),
    s3rver: pkg('s3rver'),
    'hyparquet / hyparquet-writer': `${pkg('hyparquet')} / ${pkg('hyparquet-writer')}`,
    'load average (1/5/15 min) before → after': `${loadBefore} → ${load()}`,
    commit: `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? ' (with uncommitted changes)' : ''}`,
  };
}

async function main(): Promise<number> {
  const loadBefore = load();
  const data = prepareData(rows);
  const ctx = context(data);
  if (only.has('sluice') && !sluiceCliExists(ctx))
    log('warning: packages/cli/bin/sluice.js does not exist; the Sluice runner will fail');
  // Measure the CLI as installed: from its bundle, which the bin skips when sources are newer.
  if (only.has('sluice') || only.has('sluice-content'))
    execFileSync(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });
  const results: RunnerResult[] = [];
  for (const w of workloads) {
    if (w === 'w7') {
      const api = await startApi(benchDir, data.rows);
      try {
        results.push(...(await runAll(httpRunners(ctx, api, only), reps, data.label)));
      } finally {
        await api.close();
      }
      continue;
    }
    if (w !== 'w2-s3') {
      results.push(...(await runAll(runnersFor(ctx, w, only), reps, data.label)));
      continue;
    }
    log('w2-s3: starting s3rver, uploading the CSV when bench/data/s3rver lacks it …');
    const s3 = await startS3(benchDir, dataDir, data);
    try {
      results.push(...(await runAll(s3Runners(ctx, s3, only), reps, data.label)));
    } finally {
      await s3.close();
    }
  }

  let growth: Growth | undefined;
  if (opts['rss-growth']) {
    const large = prepareData(Number(opts['growth-rows']));
    const [big] = await runAll(runnersFor(context(large), 'w2', new Set(['sluice'])), reps, large.label);
    const small = results.find((r) => r.workload === 'w2' && r.id === 'sluice');
    const smallRss = peakRss(small);
    const largeRss = peakRss(big);
    const error =
      big?.error ?? (smallRss === undefined ? 'W2 Sluice at the base size did not run or failed' : undefined);
    growth = {
      small: data,
      large,
      smallRss: smallRss ?? 0,
      largeRss: largeRss ?? 0,
      largeWallMs: medianWall(big) ?? 0,
      error,
    };
  }

  let baseline: (RunnerResult & { rows: number }) | undefined;
  if (only.has('sluice') && workloads.includes('w1')) {
    const tiny = prepareData(1_000);
    const [b] = await runAll(runnersFor(context(tiny), 'w1', new Set(['sluice'])), reps, tiny.label);
    if (b) baseline = { ...b, rows: tiny.rows };
  }

  const argv = process.argv.slice(2).join(' ');
  const host = machine(loadBefore);
  const md = renderResults({
    date: new Date().toISOString(),
    machine: host,
    data,
    reps,
    command: `npm run bench${argv ? ` -- ${argv}` : ''}`,
    results,
    growth,
    baseline,
  });
  // The partitions and platform benchmarks (bench/partitions.ts, bench/platform.ts) own the
  // sections from the first of their markers on: keep them.
  let previous = '';
  try {
    previous = readFileSync(opts.out, 'utf8');
  } catch {}
  const marks = ['<!-- partitions -->', '<!-- platform -->'].map((m) => previous.indexOf(m));
  const kept = Math.min(...marks.map((i) => (i < 0 ? Number.POSITIVE_INFINITY : i)));
  const engine = Number.isFinite(kept) ? previous.slice(0, kept) : previous;
  // Some workloads only: their sections replace those of the last full run, the rest stays.
  const partial = engine.includes('## Targets') && WORKLOADS.some((w) => !workloads.includes(w));
  const note =
    `> Measured by \`npm run bench -- ${argv}\` on ${new Date().toISOString()} at commit ` +
    `${host.commit}, load average (1/5/15 min) ${host['load average (1/5/15 min) before → after']}; ` +
    'the machine and other sections are those of the run above.';
  const body = partial ? spliceResults(engine, md, workloads, note) : md;
  writeFileSync(opts.out, Number.isFinite(kept) ? `${body.trimEnd()}\n\n${previous.slice(kept)}` : body);
  process.stdout.write(md);
  const failed = results.filter((r) => r.error).map((r) => `${r.workload} ${r.id}`);
  if (growth?.error) failed.push('rss growth');
  if (baseline?.error) failed.push('sluice fixed cost');
  if (failed.length)
    log(`\nBENCH FAILED: ${failed.join(', ')} (details above and in ${relative(repoRoot, opts.out)})`);
  return failed.length ? 1 : 0;
}

process.exitCode = await main();
