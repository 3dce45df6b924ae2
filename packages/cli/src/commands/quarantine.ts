import { createRegistry } from '@sluice/connectors';
import { ConfigError, coerceParams, type RunReport, replayQuarantine } from '@sluice/core';
import { loadSpec } from '../load-spec.ts';
import { printError } from '../render/errors.ts';
import { failedReport, printReport, runConsole } from './run.ts';

export interface QuarantineFlags {
  param: Record<string, string>;
  /** The run's directory (`--state-dir` of `sluice run`); default `.sluice/runs/<name>`. */
  run?: string;
  step?: string;
  json?: boolean;
  quiet?: boolean;
}

/**
 * `sluice quarantine replay <spec>`: re-runs the quarantined rows of the pipeline's last run
 * through the spec as it is now, into the same sinks (see replayQuarantine). Run again after an
 * interruption, it continues the replay. Exit code 0 on success, 1 when a step's replay failed,
 * 2 when it could not start, 130 on Ctrl-C.
 */
export async function quarantineCommand(
  action: string,
  specPath: string,
  flags: QuarantineFlags,
): Promise<number> {
  const { signal, onEvent, done } = runConsole(flags);
  let report: RunReport;
  try {
    if (action !== 'replay') {
      throw new ConfigError(
        `unknown quarantine action "${action}": use sluice quarantine replay <spec> [--run dir] [--step id]`,
        [],
      );
    }
    const { doc, baseDir } = await loadSpec(specPath);
    const schema = (doc as { parameters?: object } | null)?.parameters;
    report = await replayQuarantine(doc, {
      registry: createRegistry(),
      baseDir,
      params: coerceParams(schema, flags.param),
      signal,
      onEvent,
      ...(flags.run === undefined ? {} : { stateDir: flags.run }),
      ...(flags.step === undefined ? {} : { steps: [flags.step] }),
    });
  } catch (err) {
    if (flags.json) process.stdout.write(`${JSON.stringify(failedReport(err), null, 2)}\n`);
    else printError(err);
    return 2;
  } finally {
    done();
  }
  if (report.steps.length === 0 && !flags.json) {
    process.stdout.write(`nothing to replay: the run of "${report.pipeline}" has no quarantined rows\n`);
    return 0;
  }
  return printReport(report, flags);
}
