/**
 * The parse-only runners: Sluice's CSV source (CsvParser + CsvRows, serial, one thread) against
 * udsv and csv-parse on the same file, each its own process doing nothing with the records but
 * counting them and the characters of `notes`. Those two figures must agree across runners, so a
 * parser that split a quoted field or an embedded newline differently fails the bench.
 */

import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { assertOk, type Measured, measure } from './measure.ts';
import type { BenchContext, Runner, Sample } from './runners.ts';

const NODE = process.execPath;

/**
 * Bundles bench/peers/parse-sluice.ts with the connector sources it imports, so the timed process
 * runs plain JavaScript, as the peers and the CLI bundle do, and pays no TypeScript loader.
 */
export function buildParseBundle(ctx: BenchContext): string {
  const outfile = join(ctx.dataDir, 'parse-sluice.mjs');
  buildSync({
    entryPoints: [join(ctx.benchDir, 'peers', 'parse-sluice.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    // The SFTP location's ssh2 loads native addons, which esbuild cannot bundle; the parse runner
    // never reaches it, and from bench/data the import resolves to the repository's node_modules.
    external: ['ssh2'],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return outfile;
}

/** Parse-only runners whose ids are in `only` (`sluice` selects both Sluice lines). */
export function parseRunners(ctx: BenchContext, only: ReadonlySet<string>): Runner[] {
  // What the first runner to finish read; every other runner must read the same.
  let agreed: { rows: number; notes: number; by: string } | undefined;
  const runner = (id: string, label: string, command: () => string[]): Runner => {
    let got = { rows: -1, notes: -1 };
    let args: string[] = [];
    return {
      id,
      workload: 'parse',
      label,
      prepare() {
        args = command();
      },
      async run(): Promise<Sample> {
        const m: Measured = assertOk(id, await measure(NODE, args, { cwd: ctx.repoRoot }));
        const [rows, notes] = m.stdout.trim().split(' ').map(Number);
        got = { rows: rows ?? -1, notes: notes ?? -1 };
        return { wallMs: m.wallMs, peakRssBytes: m.peakRssBytes };
      },
      verify() {
        if (got.rows !== ctx.data.rows)
          throw new Error(
            `row count check failed: ${id} read ${got.rows} records, expected ${ctx.data.rows}`,
          );
        agreed ??= { ...got, by: id };
        if (got.notes !== agreed.notes)
          throw new Error(
            `parse check failed: ${id} read ${got.notes} characters of notes, ${agreed.by} ${agreed.notes}`,
          );
      },
    };
  };
  const csv = ctx.data.csvPath;
  const peer = (name: string): string => join(ctx.benchDir, 'peers', name);
  let bundle: string | undefined;
  const sluice = (mode: 'strings' | 'typed'): string[] => {
    bundle ??= buildParseBundle(ctx);
    return [bundle, csv, mode];
  };
  const all = [
    runner('sluice', 'Sluice CSV source, all columns strings', () => sluice('strings')),
    runner('sluice-typed', 'Sluice CSV source, 4 columns cast as in the specs', () => sluice('typed')),
    runner('udsv', 'udsv `stringObjs`, fed utf8 text in 64 KiB reads', () => [peer('parse-udsv.mjs'), csv]),
    runner('csv-parse', 'csv-parse stream, `columns: true`, 64 KiB reads', () => [
      peer('parse-csv-parse.mjs'),
      csv,
    ]),
  ];
  return all.filter((r) => only.has(r.id === 'sluice-typed' ? 'sluice' : r.id));
}
