import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { type ParallelOptions, Registry, type RunOptions, type RunReport, runPipeline } from '@sluice/core';
import { expect } from 'vitest';
import { builtinConnectors } from '../src/index.ts';

export const registry = new Registry().register(...builtinConnectors);

/** Small chunks, so that records, quotes and CRLF pairs straddle many chunk boundaries. */
export const tinyChunks = (chunkBytes: number, threads = 2): ParallelOptions => ({
  threads,
  chunkBytes,
  minBytes: 0,
});

export interface Outcome {
  report: RunReport;
  /** The quarantine entries without their time. */
  quarantine: Record<string, unknown>[];
}

/** Runs `spec` with its state in `stateDir`; `parallel: false` keeps it on the main thread. */
export async function run(
  spec: unknown,
  stateDir: string,
  parallel: ParallelOptions | false,
  more: Partial<RunOptions> = {},
): Promise<Outcome> {
  const report = await runPipeline(spec, { registry, stateDir, parallel, ...more });
  const text = await readFile(join(stateDir, 'quarantine.ndjson'), 'utf8').catch(() => '');
  const quarantine = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const { time: _, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
  return { report, quarantine };
}

/**
 * Runs `spec` in threads and cancels it once more than `after` rows were read, then resumes it
 * with other chunk sizes; fails unless the first run was cancelled and the second succeeded from
 * a checkpoint past the start.
 */
export async function cancelThenResume(spec: unknown, stateDir: string, after: number): Promise<Outcome> {
  const abort = new AbortController();
  const first = await run(spec, stateDir, tinyChunks(900), {
    signal: abort.signal,
    onEvent: (e) => {
      if (e.type === 'progress' && e.rowsRead > after) abort.abort();
    },
  });
  expect(first.report.status).toBe('cancelled');
  const resumed = await run(spec, stateDir, tinyChunks(1300), { resume: true });
  expect(resumed.report.status, JSON.stringify(resumed.report.error)).toBe('success');
  expect(resumed.report.steps[0]!.resumedFromRow).toBeGreaterThan(0);
  return resumed;
}

/** What must not depend on threads: every count and checksum of every component. */
export function figures(report: RunReport) {
  return report.steps.map((s) => ({
    status: s.status,
    rowsRead: s.rowsRead,
    rowsWritten: s.rowsWritten,
    rowsFiltered: s.rowsFiltered,
    rowsQuarantined: s.rowsQuarantined,
    integrity: s.integrity,
    // Outputs and state go to different paths in the runs compared: only the file type must agree.
    components: s.components.map(({ durationMs: _, location, ...c }) => ({
      ...c,
      ...(location === undefined ? {} : { location: extname(location) }),
    })),
  }));
}

/** The run's error with its state directory (named in some messages) left out. */
export function errorOf(o: Outcome, stateDir: string) {
  const e = o.report.error;
  return e && { ...e, message: e.message.replaceAll(stateDir, '<state>') };
}

/**
 * Quarantine entries in a canonical order. Each component's entries keep their order; across
 * components, entries of one batch of `read` may interleave differently where a batch spans two
 * chunks, so the comparison sorts by line and component.
 */
export function byLine(entries: Record<string, unknown>[]): Record<string, unknown>[] {
  return [...entries].sort(
    (a, b) =>
      (a.line as number) - (b.line as number) || String(a.component).localeCompare(String(b.component)),
  );
}

export function perComponent(entries: Record<string, unknown>[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const e of entries) {
    const c = e.component as string;
    out[c] ??= [];
    out[c].push(e);
  }
  return out;
}

/** A CSV with what makes cutting hard: quoted CRLFs and LFs, doubled and stray quotes, a BOM, ragged rows. */
export function awkwardCsv(rows: number, eol = '\r\n', bom = true): string {
  let s = `${bom ? '\uFEFF' : ''}id,name,amount,active,country,note${eol}`;
  for (let i = 1; i <= rows; i++) {
    const note =
      i % 7 === 0
        ? `"multi${eol}line ""q"" ${i}"`
        : i % 11 === 0
          ? '"a,b\nc"'
          : i % 13 === 0
            ? `stray"quote ${i}`
            : i % 17 === 0
              ? '""'
              : `plain ${i}`;
    if (i % 97 === 0) s += `${i},ragged${eol}`;
    else if (i % 89 === 0)
      s += eol; // an empty line
    else s += `${i},"name é 🚚 ${i}",${(i % 1000) / 10},${i % 2 === 0},de,${note}${eol}`;
  }
  return s;
}
