/**
 * The runners compared by the benchmark. Each one resets its destination in `prepare` and checks
 * its output in `verify`, both outside the timed `run`; a wrong row count throws, failing the bench.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSet } from '../generate.ts';
import { amqpRunners } from './amqp-runners.ts';
import { countLines, removeFile } from './files.ts';
import { lookupRunners } from './lookup-runners.ts';
import { assertOk, type Measured, measure } from './measure.ts';
import { mysqlRunners } from './mysql-runners.ts';
import { parquetRunners } from './parquet-runners.ts';
import { parseRunners } from './parse-runners.ts';
import { copyArgs, DATABASE_URL, recreateTable, tableStats } from './pg.ts';
import { sqlRunners } from './sql-runners.ts';

/**
 * W1, W2, W2 from S3, W3 and W5 are flows; `parse` times CSV parsers alone on the same file.
 * W2 from S3 needs its server (s3-runners.ts), so `runnersFor` leaves it to the harness. W4
 * (lookup-runners.ts) enriches every row from a PostgreSQL table, against the same flow without.
 * W7 (http-runners.ts) reads an HTTP API that the harness starts, like W2 from S3.
 */
export type Workload = 'w1' | 'w2' | 'w2-s3' | 'w3' | 'w4' | 'w5' | 'w6' | 'w7' | 'w8' | 'parse';
export const WORKLOADS: readonly Workload[] = [
  'w1',
  'w2',
  'w2-s3',
  'w3',
  'w4',
  'w5',
  'w6',
  'w7',
  'w8',
  'parse',
];

export interface Sample {
  wallMs: number;
  peakRssBytes: number;
}

export interface Runner {
  id: string;
  workload: Workload;
  /** What the runner does, for the results table. */
  label: string;
  /** Resets the destination (and fills a source that needs it), outside the timing. */
  prepare(): void | Promise<void>;
  run(): Promise<Sample>;
  verify(): void;
  /** What the last run reported beyond time and memory (a lookup's cache counters), for RESULTS.md. */
  note?(): string | undefined;
}

export interface BenchContext {
  repoRoot: string;
  benchDir: string;
  dataDir: string;
  outDir: string;
  data: DataSet;
}

export const SLUICE_CLI = 'packages/cli/bin/sluice.js';
export const NODE = process.execPath;

export const sample = (m: Measured): Sample => ({ wallMs: m.wallMs, peakRssBytes: m.peakRssBytes });

export function expectEqual(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`row count check failed: ${what} is ${got}, expected ${want}`);
}

function verifyTable(table: string, data: DataSet): void {
  const s = tableStats(table);
  expectEqual(`SELECT count(*) FROM bench.${table}`, s.rows, data.activeRows);
  expectEqual(`SELECT sum(quantity) FROM bench.${table}`, s.quantitySum, data.activeQuantitySum);
}

/**
 * The spec for `workload` at this data size. The committed specs in bench/specs read the 1M file;
 * other sizes get a copy in bench/data with the file names swapped (relative paths still resolve,
 * since bench/data/../data is bench/data).
 */
export function specFor(ctx: BenchContext, name: string): string {
  const template = join(ctx.benchDir, 'specs', `${name}.yaml`);
  if (ctx.data.label === '1m') return template;
  const path = join(ctx.dataDir, `${name}-${ctx.data.label}.yaml`);
  const text = readFileSync(template, 'utf8').replaceAll('-1m.', `-${ctx.data.label}.`);
  writeFileSync(path, text);
  return path;
}

export interface SluiceStep {
  id?: string;
  components?: { id: string; counters?: Record<string, number> }[];
  rowsRead?: number;
  rowsWritten?: number;
  rowsQuarantined?: number;
}
export interface SluiceReport {
  status?: string;
  steps?: SluiceStep[];
  error?: { code?: string; message?: string };
  integrity?: { ok?: boolean; problems?: string[] };
}

export function parseReport(m: Measured): SluiceReport {
  const text = m.stdout.trim();
  try {
    return JSON.parse(text) as SluiceReport;
  } catch {
    throw new Error(
      `sluice --json did not print a JSON report. stdout:\n${text.slice(-2000)}\nstderr:\n${m.stderr.slice(-2000)}`,
    );
  }
}

export function checkReport(report: SluiceReport, data: DataSet, written = data.activeRows): void {
  if (report.status !== 'success') {
    throw new Error(
      `sluice run ended with status ${report.status}: ${JSON.stringify(report.error ?? report)}`,
    );
  }
  if (report.integrity && report.integrity.ok === false) {
    throw new Error(`sluice reported an integrity problem: ${report.integrity.problems?.join('; ')}`);
  }
  const step = report.steps?.[0];
  if (!step || report.steps?.length !== 1)
    throw new Error(`expected one step in the report, got ${JSON.stringify(report.steps)}`);
  expectEqual('sluice report steps[0].rowsRead', step.rowsRead ?? -1, data.rows);
  expectEqual('sluice report steps[0].rowsWritten', step.rowsWritten ?? -1, written);
  expectEqual('sluice report steps[0].rowsQuarantined', step.rowsQuarantined ?? 0, 0);
}

/** What a Sluice runner runs: a committed spec (at this data size) and how its output is checked. */
export interface SluiceRun {
  id: string;
  workload: Workload;
  /** The spec's name in bench/specs, without `.yaml`. */
  spec: string;
  label: string;
  /** Variables the CLI runs with, besides the harness's own. */
  env?: NodeJS.ProcessEnv;
  /** Arguments after the spec (`--param n=…`). */
  args?: string[];
  /** Rows the report must say were read. @defaultValue the bench data's rows */
  rowsRead?: number;
  /** Rows the report must say were written. @defaultValue the rows the filter keeps */
  rowsWritten?: number;
  /** Resets the destination, outside the timing. */
  prepare(): void;
  /** Checks the destination, after the report was checked. */
  check(): void;
}

/** The Sluice CLI on a spec: its JSON report must say success with every row read and the filter's rows written. */
export function sluiceRunner(ctx: BenchContext, r: SluiceRun): Runner {
  const spec = specFor(ctx, r.spec);
  let report: SluiceReport = {};
  return {
    id: r.id,
    workload: r.workload,
    label: r.label,
    prepare: r.prepare,
    async run() {
      const env = { ...process.env, ...r.env, BENCH_DATABASE_URL: DATABASE_URL };
      const m = await measure(NODE, [SLUICE_CLI, 'run', spec, ...(r.args ?? []), '--json'], {
        cwd: ctx.repoRoot,
        env,
      });
      report = parseReport(assertOk('sluice', m));
      return sample(m);
    },
    verify() {
      checkReport(
        report,
        r.rowsRead === undefined ? ctx.data : { ...ctx.data, rows: r.rowsRead },
        r.rowsWritten,
      );
      r.check();
    },
  };
}

/** Lines of an NDJSON output: one per row the filter kept. */
export function checkLines(ctx: BenchContext, path: string): void {
  expectEqual(`lines in ${path}`, countLines(path), ctx.data.activeRows);
}

/** Sluice with its sink at `verify: count` (the spec as committed) or `content` (the `-content` spec). */
function sluice(ctx: BenchContext, workload: 'w1' | 'w2', verify: 'count' | 'content' = 'count'): Runner {
  const name = verify === 'count' ? workload : `${workload}-content`;
  const suffix = verify === 'count' ? '' : '_content';
  const output = join(ctx.outDir, `w2-sluice${suffix}-${ctx.data.label}.ndjson`);
  return sluiceRunner(ctx, {
    id: verify === 'count' ? 'sluice' : 'sluice-content',
    workload,
    spec: name,
    label: `\`sluice run ${name}.yaml --json\` (sink \`verify: ${verify}\`)`,
    prepare: () => (workload === 'w1' ? recreateTable(`w1_sluice${suffix}`) : removeFile(output)),
    check: () => (workload === 'w1' ? verifyTable(`w1_sluice${suffix}`, ctx.data) : checkLines(ctx, output)),
  });
}

function copyFloor(ctx: BenchContext): Runner {
  return {
    id: 'floor',
    workload: 'w1',
    label: '`psql \\copy` of the pre-filtered, pre-mapped CSV',
    prepare: () => recreateTable('w1_floor'),
    run: async () =>
      sample(assertOk('psql \\copy', await measure('psql', copyArgs('w1_floor', ctx.data.floorCsvPath)))),
    verify: () => verifyTable('w1_floor', ctx.data),
  };
}

function naiveNode(ctx: BenchContext): Runner {
  const script = join(ctx.benchDir, 'peers', 'naive-node.mjs');
  return {
    id: 'naive-node',
    workload: 'w1',
    label: 'Node: udsv + pg-copy-streams, row by row',
    prepare: () => recreateTable('w1_naive'),
    async run() {
      const m = await measure(NODE, [script, ctx.data.csvPath, DATABASE_URL, 'bench.w1_naive']);
      return sample(assertOk('naive node', m));
    },
    verify: () => verifyTable('w1_naive', ctx.data),
  };
}

function duckdb(ctx: BenchContext, workload: 'w1' | 'w2'): Runner {
  const script = join(ctx.benchDir, 'peers', 'duckdb.mjs');
  const output = join(
    ctx.outDir,
    `${workload}-duckdb-${ctx.data.label}.${workload === 'w1' ? 'csv' : 'ndjson'}`,
  );
  return {
    id: 'duckdb',
    workload,
    label:
      workload === 'w1' ? 'DuckDB → CSV, then `psql \\copy`' : 'DuckDB `COPY (SELECT …) TO … (FORMAT json)`',
    prepare() {
      removeFile(output);
      if (workload === 'w1') recreateTable('w1_duckdb');
    },
    async run() {
      const d = assertOk('duckdb', await measure(NODE, [script, workload, ctx.data.csvPath, output]));
      if (workload === 'w2') return sample(d);
      const c = assertOk('psql \\copy', await measure('psql', copyArgs('w1_duckdb', output)));
      return { wallMs: d.wallMs + c.wallMs, peakRssBytes: Math.max(d.peakRssBytes, c.peakRssBytes) };
    },
    verify() {
      if (workload === 'w1') verifyTable('w1_duckdb', ctx.data);
      else expectEqual(`lines in ${output}`, countLines(output), ctx.data.activeRows);
    },
  };
}

function readFloor(ctx: BenchContext): Runner {
  const script = join(ctx.benchDir, 'peers', 'read-floor.mjs');
  let chars = 0;
  return {
    id: 'floor',
    workload: 'w2',
    label: 'Node: read the file and decode UTF-8, nothing more',
    prepare() {},
    async run() {
      const m = assertOk('read floor', await measure(NODE, [script, ctx.data.csvPath]));
      chars = Number(m.stdout.trim());
      return sample(m);
    },
    verify() {
      if (!(chars > 0 && chars <= ctx.data.bytes))
        throw new Error(`read floor decoded ${chars} characters of ${ctx.data.bytes} bytes`);
    },
  };
}

export const RUNNER_IDS = [
  'sluice',
  'sluice-content',
  'sluice-local',
  'no-lookup',
  'floor',
  'naive-node',
  'duckdb',
  'udsv',
  'csv-parse',
] as const;

/** The runners of `workload` whose ids are in `only`, in the order the results table lists them. */
export function runnersFor(ctx: BenchContext, workload: Workload, only: ReadonlySet<string>): Runner[] {
  if (workload === 'parse') return parseRunners(ctx, only);
  if (workload === 'w5') return parquetRunners(ctx, only);
  if (workload === 'w3') return sqlRunners(ctx, only);
  if (workload === 'w6') return mysqlRunners(ctx, only);
  if (workload === 'w8') return amqpRunners(ctx, only);
  if (workload === 'w4') return lookupRunners(ctx, only);
  if (workload === 'w2-s3') throw new Error('W2 from S3 runners come from s3Runners, with the server');
  if (workload === 'w7') throw new Error('W7 runners come from httpRunners, with the server');
  const all =
    workload === 'w1'
      ? [sluice(ctx, 'w1'), sluice(ctx, 'w1', 'content'), copyFloor(ctx), naiveNode(ctx), duckdb(ctx, 'w1')]
      : [sluice(ctx, 'w2'), sluice(ctx, 'w2', 'content'), readFloor(ctx), duckdb(ctx, 'w2')];
  return all.filter((r) => only.has(r.id));
}

export function sluiceCliExists(ctx: BenchContext): boolean {
  return existsSync(join(ctx.repoRoot, SLUICE_CLI));
}
