import { createRegistry } from '@sluice/connectors';
import { coerceParams, type RunEvent, type RunReport, runPipeline, toSluiceError } from '@sluice/core';
import pc from 'picocolors';
import { loadSpec } from '../load-spec.ts';
import { printError } from '../render/errors.ts';
import { ProgressDisplay } from '../render/progress.ts';
import { renderSummary } from '../render/summary.ts';

export interface RunFlags {
  param: Record<string, string>;
  json?: boolean;
  resume?: boolean;
  maxQuarantine?: number;
  stateDir?: string;
  quiet?: boolean;
  threads?: number;
}

const LEVEL_COLOR = { debug: pc.dim, info: String, warn: pc.yellow, error: pc.red } as const;

/**
 * Stops the run on Ctrl-C or SIGTERM, shows progress on a terminal and prints log lines to stderr;
 * `done` puts the terminal back. Shared by the commands that run flows (run, quarantine replay).
 */
export function runConsole(flags: { json?: boolean; quiet?: boolean }) {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tty = process.stderr.isTTY && !flags.json && !flags.quiet;
  const progress = tty ? new ProgressDisplay(process.stderr) : undefined;
  const onEvent = (e: RunEvent) => {
    progress?.onEvent(e);
    // A terminal shows live progress and the summary: the engine's own step lines would repeat
    // them (and --quiet asks for neither); in a log file or a pipe they are the progress.
    const repeats =
      (progress !== undefined || flags.quiet === true) && e.type === 'log' && e.meta?.lifecycle === true;
    if (e.type === 'log' && !repeats && (e.level !== 'debug' || process.env.SLUICE_DEBUG)) {
      const text = `${LEVEL_COLOR[e.level](e.level.toUpperCase())} ${pc.dim(e.componentId)} ${e.message}`;
      if (progress) progress.print(text);
      else process.stderr.write(`${text}\n`);
    }
  };
  const done = () => {
    progress?.finish();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  return { signal: abort.signal, onEvent, done };
}

/** `sluice run`: exit code 0 on success, 1 when the run failed, 2 when it could not start, 130 on Ctrl-C. */
export async function runCommand(specPath: string, flags: RunFlags): Promise<number> {
  const { signal, onEvent, done } = runConsole(flags);
  let report: RunReport;
  try {
    const { doc, baseDir } = await loadSpec(specPath);
    const schema = (doc as { parameters?: object } | null)?.parameters;
    report = await runPipeline(doc, {
      registry: createRegistry(),
      baseDir,
      params: coerceParams(schema, flags.param),
      resume: flags.resume === true,
      signal,
      onEvent,
      ...(flags.maxQuarantine === undefined ? {} : { maxQuarantine: flags.maxQuarantine }),
      ...(flags.stateDir === undefined ? {} : { stateDir: flags.stateDir }),
      ...(flags.threads === undefined ? {} : { parallel: { threads: flags.threads } }),
    });
  } catch (err) {
    if (flags.json) process.stdout.write(`${JSON.stringify(failedReport(err), null, 2)}\n`);
    else printError(err);
    return 2;
  } finally {
    done();
  }
  return printReport(report, flags);
}

/** Prints a report (the summary, or the JSON document); returns 0 on success, 1 failed, 130 cancelled. */
export function printReport(report: RunReport, flags: { json?: boolean }): number {
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${renderSummary(report)}\n`);
  if (report.status === 'success') return 0;
  return report.status === 'cancelled' ? 130 : 1;
}

/** The report of a run that never started, so `--json` always prints one document. */
export function failedReport(err: unknown) {
  const e = toSluiceError(err);
  return {
    status: 'failed',
    steps: [],
    integrity: { ok: true, problems: [] },
    quarantine: { rows: 0, path: null },
    error: e.toJSON(),
  };
}
