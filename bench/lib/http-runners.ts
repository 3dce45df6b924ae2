/**
 * W7: an HTTP API (bench/peers/http-api.mjs, in its own process) serving the bench's row count as
 * generated orders in pages of 1,000 → NDJSON. Sluice's http source against the floor, a plain
 * Node script fetching and writing the same pages. Target: Sluice at ≥ 0.5× the floor's throughput.
 */
import { join } from 'node:path';
import { startChildServer } from './child-server.ts';
import { countLines, removeFile } from './files.ts';
import { assertOk, measure } from './measure.ts';
import { type BenchContext, expectEqual, NODE, type Runner, sample, sluiceRunner } from './runners.ts';

export interface BenchApi {
  /** The server's base URL; the orders are at `<url>/orders`. */
  url: string;
  close(): Promise<void>;
}

export async function startApi(benchDir: string, rows: number): Promise<BenchApi> {
  const server = await startChildServer(join(benchDir, 'peers', 'http-api.mjs'), [String(rows)]);
  return { url: `http://127.0.0.1:${server.port}`, close: server.close };
}

export function httpRunners(ctx: BenchContext, api: BenchApi, only: ReadonlySet<string>): Runner[] {
  const out = join(ctx.outDir, `w7-sluice-${ctx.data.label}.ndjson`);
  const all = [
    sluiceRunner(ctx, {
      id: 'sluice',
      workload: 'w7',
      spec: 'w7',
      label: '`sluice run w7.yaml --json`: http source, pages of 1,000 → ndjson',
      env: { BENCH_HTTP_URL: api.url },
      rowsWritten: ctx.data.rows,
      prepare: () => removeFile(out),
      check: () => expectEqual(`lines in ${out}`, countLines(out), ctx.data.rows),
    }),
    floor(ctx, api),
  ];
  return all.filter((r) => only.has(r.id));
}

function floor(ctx: BenchContext, api: BenchApi): Runner {
  const script = join(ctx.benchDir, 'peers', 'http-floor.mjs');
  const out = join(ctx.outDir, `w7-floor-${ctx.data.label}.ndjson`);
  let records = 0;
  return {
    id: 'floor',
    workload: 'w7',
    label: 'Node: fetch each page, JSON.parse, write its records as NDJSON',
    prepare: () => removeFile(out),
    async run() {
      const m = assertOk('http floor', await measure(NODE, [script, `${api.url}/orders`, out]));
      records = Number(m.stdout.trim());
      return sample(m);
    },
    verify() {
      expectEqual('records the http floor wrote', records, ctx.data.rows);
      expectEqual(`lines in ${out}`, countLines(out), ctx.data.rows);
    },
  };
}
