/**
 * W3: the bench CSV → `sql` GROUP BY country with count and sum → NDJSON, Sluice against DuckDB
 * running the same query on the same CSV alone. Both outputs must hold one line per country with
 * counts adding up to every row of the input.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeFile } from './files.ts';
import { assertOk, measure } from './measure.ts';
import { type BenchContext, expectEqual, NODE, type Runner, sample, sluiceRunner } from './runners.ts';

/** Countries the generator draws from: W3's output has one row each. */
const COUNTRIES = 30;

function checkGroups(ctx: BenchContext, path: string): void {
  const rows = readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { orders: number });
  expectEqual(`rows of ${path}`, rows.length, COUNTRIES);
  expectEqual(
    `sum of orders in ${path}`,
    rows.reduce((a, r) => a + r.orders, 0),
    ctx.data.rows,
  );
}

export function sqlRunners(ctx: BenchContext, only: ReadonlySet<string>): Runner[] {
  const fromSluice = join(ctx.outDir, `w3-sluice-${ctx.data.label}.ndjson`);
  const fromDuckdb = join(ctx.outDir, `w3-duckdb-${ctx.data.label}.ndjson`);
  const script = join(ctx.benchDir, 'peers', 'duckdb.mjs');
  const all: Runner[] = [
    sluiceRunner(ctx, {
      id: 'sluice',
      workload: 'w3',
      spec: 'w3',
      label: '`sluice run w3.yaml --json` (csv source, `sql` transform, ndjson sink)',
      rowsWritten: COUNTRIES,
      prepare: () => removeFile(fromSluice),
      check: () => checkGroups(ctx, fromSluice),
    }),
    {
      id: 'duckdb',
      workload: 'w3',
      label: 'DuckDB `COPY (SELECT … GROUP BY country) TO … (FORMAT json)` on the CSV',
      prepare: () => removeFile(fromDuckdb),
      run: async () =>
        sample(assertOk('duckdb', await measure(NODE, [script, 'w3', ctx.data.csvPath, fromDuckdb]))),
      verify: () => checkGroups(ctx, fromDuckdb),
    },
  ];
  return all.filter((r) => only.has(r.id));
}
