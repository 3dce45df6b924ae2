/**
 * W6's flow (bench/specs/w6.yaml: CSV → filter → map → MariaDB) run in this process through
 * core's runPipeline, on one thread and in worker threads, so a change to the connectors can be
 * timed before the CLI the bench spawns has it. Each repetition runs in a fresh process (as the
 * bench's `sluice run` does: worker threads start, and load the connectors, in the time measured),
 * loads a freshly made `w6_sluice`, and prints the process's wall time, the flow's, the rows
 * written and the load average it started under.
 *
 * Run: `npx tsx bench/w6-threads.ts [--reps 3] [--modes serial,threads] [--connectors <index.ts>]`
 * (`--connectors` times another checkout's connectors, e.g. main's, against the same core). Needs
 * MariaDB at BENCH_MYSQL_URL and bench/data/orders-1m.csv (`npx tsx bench/generate.ts`).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Registry as CoreRegistry, Registry, runPipeline } from '@sluice/core';
import { parse } from 'yaml';
import { MYSQL_URL, recreate } from './lib/mysql-runners.ts';

const here = dirname(new URL(import.meta.url).pathname);
const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    modes: { type: 'string', default: 'serial,threads' },
    connectors: { type: 'string', default: join(here, '../packages/connectors/src/index.ts') },
    /** Internal: run `mode` once in this process. */
    child: { type: 'string' },
  },
});

if (values.child === undefined) {
  const self = new URL(import.meta.url).pathname;
  for (let rep = 1; rep <= Number(values.reps); rep++) {
    for (const mode of values.modes.split(',')) {
      recreate('w6_sluice');
      const load = loadavg()
        .map((l) => l.toFixed(2))
        .join(' ');
      const t0 = performance.now();
      const r = spawnSync(
        process.execPath,
        [...process.execArgv, self, '--child', mode, '--connectors', values.connectors],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const wall = (performance.now() - t0) / 1000;
      if (r.status !== 0) throw new Error(`${mode} failed (exit ${r.status})`);
      console.log(`${mode.padEnd(8)} rep ${rep}: ${wall.toFixed(2)} s (${r.stdout.trim()}), load ${load}`);
    }
  }
  process.exit(0);
}

const { builtinConnectors } = (await import(resolve(values.connectors))) as {
  builtinConnectors: Parameters<CoreRegistry['register']>;
};
const registry = new Registry().register(...builtinConnectors);
const specDir = join(here, 'specs');
const spec: unknown = parse(readFileSync(join(specDir, 'w6.yaml'), 'utf8'));
const mode = values.child;
const state = await mkdtemp(join(tmpdir(), 'sluice-w6-'));
try {
  const t0 = performance.now();
  const report = await runPipeline(spec, {
    registry,
    baseDir: specDir,
    stateDir: state,
    env: { ...process.env, BENCH_MYSQL_URL: MYSQL_URL },
    parallel: mode === 'serial' ? false : {},
  });
  const s = (performance.now() - t0) / 1000;
  if (report.status !== 'success') throw new Error(`${mode}: ${JSON.stringify(report.error)}`);
  console.log(`flow ${s.toFixed(2)} s, ${report.steps[0]!.rowsWritten} rows`);
} finally {
  await rm(state, { recursive: true, force: true });
}
// Idle worker threads are unreferenced, but the pool may hold the process a moment: not timed.
process.exit(0);
