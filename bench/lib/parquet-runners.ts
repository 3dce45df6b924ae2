/**
 * W5: the bench data as Parquet → filter → map → Parquet, Sluice against DuckDB on the same file.
 * The input is written once per data set by DuckDB (`COPY … (FORMAT parquet)`: snappy, row groups
 * of ~123,000 rows, each column chunk one page), from the CSV typed as the specs type it (id BIGINT, amount DOUBLE, quantity
 * INTEGER, active BOOLEAN, the rest VARCHAR). Each output's rows are counted by DuckDB.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { removeFile } from './files.ts';
import { assertOk, measure } from './measure.ts';
import { type BenchContext, expectEqual, NODE, type Runner, sample, sluiceRunner } from './runners.ts';

const duckdbScript = (ctx: BenchContext): string => join(ctx.benchDir, 'peers', 'duckdb.mjs');

/** W5's input beside the CSV (`orders-<label>.parquet`), written when missing or older than the CSV. */
export function ensureParquet(ctx: BenchContext): string {
  const path = ctx.data.csvPath.replace(/\.csv$/, '.parquet');
  if (existsSync(path) && statSync(path).mtimeMs >= statSync(ctx.data.csvPath).mtimeMs) return path;
  const tmp = `${path}.tmp`;
  execFileSync(NODE, [duckdbScript(ctx), 'parquet', ctx.data.csvPath, tmp], { stdio: 'inherit' });
  renameSync(tmp, path);
  return path;
}

function checkRows(ctx: BenchContext, path: string): void {
  const rows = Number(execFileSync(NODE, [duckdbScript(ctx), 'count', path], { encoding: 'utf8' }).trim());
  expectEqual(`rows of ${path} (DuckDB's count)`, rows, ctx.data.activeRows);
}

export function parquetRunners(ctx: BenchContext, only: ReadonlySet<string>): Runner[] {
  const input = ensureParquet(ctx);
  const fromSluice = join(ctx.outDir, `w5-sluice-${ctx.data.label}.parquet`);
  const fromDuckdb = join(ctx.outDir, `w5-duckdb-${ctx.data.label}.parquet`);
  const all: Runner[] = [
    sluiceRunner(ctx, {
      id: 'sluice',
      workload: 'w5',
      spec: 'w5',
      label: '`sluice run w5.yaml --json` (parquet source and sink, snappy)',
      prepare: () => removeFile(fromSluice),
      check: () => checkRows(ctx, fromSluice),
    }),
    {
      id: 'duckdb',
      workload: 'w5',
      label: 'DuckDB `COPY (SELECT … FROM read_parquet(…)) TO … (FORMAT parquet)`',
      prepare: () => removeFile(fromDuckdb),
      run: async () =>
        sample(assertOk('duckdb', await measure(NODE, [duckdbScript(ctx), 'w5', input, fromDuckdb]))),
      verify: () => checkRows(ctx, fromDuckdb),
    },
  ];
  return all.filter((r) => only.has(r.id));
}
