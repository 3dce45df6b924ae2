/**
 * W4: the bench CSV → map (a customer id per row) → lookup of three fields in a 100k-row
 * PostgreSQL table → NDJSON, against the same flow without the lookup. Every row is written, so
 * both outputs must hold every source row; the lookup's must also say it found every key.
 */
import { join } from 'node:path';
import { countLines, removeFile } from './files.ts';
import { assertOk, measure } from './measure.ts';
import { DATABASE_URL, SCHEMA, sql } from './pg.ts';
import {
  type BenchContext,
  checkReport,
  expectEqual,
  NODE,
  parseReport,
  type Runner,
  SLUICE_CLI,
  type SluiceReport,
  sample,
  specFor,
} from './runners.ts';

export const W4_CUSTOMERS = 100_000;

/** `bench.w4_customers`: made once (outside any timing) and kept while it has the right rows. */
export function ensureCustomers(): void {
  sql(`SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
  const exists = sql(`SELECT to_regclass('${SCHEMA}.w4_customers') IS NOT NULL`) === 't';
  const have = exists ? Number(sql(`SELECT count(*) FROM ${SCHEMA}.w4_customers`)) : -1;
  if (have === W4_CUSTOMERS) return;
  sql(`SET client_min_messages = warning; DROP TABLE IF EXISTS ${SCHEMA}.w4_customers;
    CREATE TABLE ${SCHEMA}.w4_customers (id integer PRIMARY KEY, name text NOT NULL, tier text NOT NULL, region text NOT NULL);
    INSERT INTO ${SCHEMA}.w4_customers
      SELECT i, 'Customer ' || i, (ARRAY['gold','silver','bronze'])[1 + i % 3], 'region-' || (i % 50)
      FROM generate_series(1, ${W4_CUSTOMERS}) AS i`);
  sql(`VACUUM ANALYZE ${SCHEMA}.w4_customers`);
}

function runner(ctx: BenchContext, id: 'sluice' | 'no-lookup'): Runner {
  const spec = specFor(ctx, id === 'sluice' ? 'w4' : 'w4-base');
  const output = join(ctx.outDir, `w4-${id === 'sluice' ? 'sluice' : 'base'}-${ctx.data.label}.ndjson`);
  let report: SluiceReport = {};
  const counters = () => report.steps?.[0]?.components?.find((c) => c.id.endsWith(':lookup'))?.counters;
  return {
    id,
    workload: 'w4',
    label:
      id === 'sluice'
        ? '`sluice run w4.yaml --json` (lookup from PostgreSQL, LRU cache)'
        : '`sluice run w4-base.yaml --json` (the same flow without the lookup)',
    prepare: () => removeFile(output),
    async run() {
      const env = { ...process.env, BENCH_DATABASE_URL: DATABASE_URL };
      const m = await measure(NODE, [SLUICE_CLI, 'run', spec, '--json'], { cwd: ctx.repoRoot, env });
      report = parseReport(assertOk('sluice', m));
      return sample(m);
    },
    verify() {
      checkReport(report, ctx.data, ctx.data.rows);
      expectEqual(`lines in ${output}`, countLines(output), ctx.data.rows);
      if (id !== 'sluice') return;
      const c = counters() ?? {};
      expectEqual(
        'lookup cache.hits + cache.misses',
        (c['cache.hits'] ?? 0) + (c['cache.misses'] ?? 0),
        ctx.data.rows,
      );
      expectEqual('lookup.notFound', c['lookup.notFound'] ?? 0, 0);
    },
    note() {
      const c = counters();
      return c && `lookup counters of the last repetition: ${JSON.stringify(c)}`;
    },
  };
}

export function lookupRunners(ctx: BenchContext, only: ReadonlySet<string>): Runner[] {
  const all = [runner(ctx, 'sluice'), runner(ctx, 'no-lookup')].filter((r) => only.has(r.id));
  if (all.length > 0) ensureCustomers();
  return all;
}
