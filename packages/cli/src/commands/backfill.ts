import { join, resolve } from 'node:path';
import { createRegistry } from '@sluice/connectors';
import {
  coerceParams,
  ErrorCode,
  type RunReport,
  runPipeline,
  SluiceError,
  toSluiceError,
} from '@sluice/core';
import { backfillIntervals, type Every, type Interval } from '@sluice/server';
import pc from 'picocolors';
import { loadSpec } from '../load-spec.ts';
import { printError } from '../render/errors.ts';
import { runConsole } from './run.ts';

export interface BackfillFlags {
  from: string;
  to: string;
  every: Every;
  concurrency?: number;
  timezone?: string;
  param: Record<string, string>;
  stateDir?: string;
  json?: boolean;
  quiet?: boolean;
}

const INTERVAL_PARAMS = ['date', 'start', 'end'] as const;

interface Outcome {
  date: string;
  status: RunReport['status'] | 'failed';
  stateDir: string;
  durationMs: number;
  error?: string;
  report?: RunReport;
}

/** A directory name for an interval: its date, with `:` (not allowed everywhere) made `-`. */
const dirName = (date: string) => date.replaceAll(':', '-').replace('+', 'p');

/**
 * `sluice backfill <spec>`: runs the spec once per interval of [from, to), at most `concurrency`
 * at once, each with its interval's date/start/end and its own state directory
 * (`<state-dir>/backfill/<date>`), so their checkpoints and quarantine never meet. Exit 0 when
 * every run succeeded, 1 when one failed, 2 when it could not start, 130 on Ctrl-C.
 */
export async function backfillCommand(specPath: string, flags: BackfillFlags): Promise<number> {
  const { signal, onEvent, done } = runConsole({ ...flags, quiet: true });
  try {
    const { doc, baseDir } = await loadSpec(specPath);
    const spec = doc as { name?: string; parameters?: { properties?: Record<string, unknown> } } | null;
    const declared = INTERVAL_PARAMS.filter((k) => k in (spec?.parameters?.properties ?? {}));
    if (declared.length === 0)
      throw new SluiceError(
        ErrorCode.PARAMS,
        `${specPath} declares none of the parameters ${INTERVAL_PARAMS.join(', ')}: a backfill sets them per interval, ` +
          'so without them every run would be the same. Declare one (parameters: {properties: {date: {type: string}}}) ' +
          'and use it as ${params.date}',
      );
    const given = coerceParams(spec?.parameters, flags.param);
    const clash = INTERVAL_PARAMS.filter((k) => k in given);
    if (clash.length > 0)
      throw new SluiceError(
        ErrorCode.PARAMS,
        `--param ${clash[0]}: the backfill sets ${clash.join(', ')} for each interval; remove it`,
      );
    const intervals = backfillIntervals({
      from: flags.from,
      to: flags.to,
      every: flags.every,
      ...(flags.timezone ? { timezone: flags.timezone } : {}),
    });
    const base = resolve(flags.stateDir ?? join('.sluice', 'runs', spec?.name ?? 'pipeline'), 'backfill');
    const runOne = async (i: Interval): Promise<Outcome> => {
      const stateDir = join(base, dirName(i.date));
      const started = Date.now();
      try {
        const own = Object.fromEntries(declared.map((k) => [k, i[k]]));
        const report = await runPipeline(doc, {
          registry: createRegistry(),
          baseDir,
          params: { ...given, ...own },
          stateDir,
          signal,
          onEvent,
        });
        return {
          date: i.date,
          status: report.status,
          stateDir,
          durationMs: Date.now() - started,
          report,
          ...(report.error ? { error: report.error.message } : {}),
        };
      } catch (err) {
        return {
          date: i.date,
          status: 'failed',
          stateDir,
          durationMs: Date.now() - started,
          error: toSluiceError(err).message,
        };
      }
    };
    const outcomes = await pool(intervals, flags.concurrency ?? 1, signal, async (i) => {
      const o = await runOne(i);
      if (!flags.json) process.stderr.write(`${line(o)}\n`);
      return o;
    });
    const failed = outcomes.filter((o) => o.status !== 'success');
    if (flags.json) process.stdout.write(`${JSON.stringify({ intervals: outcomes }, null, 2)}\n`);
    else
      process.stdout.write(
        `${outcomes.length - failed.length} of ${intervals.length} runs succeeded` +
          (outcomes.length < intervals.length
            ? `; ${intervals.length - outcomes.length} not started (cancelled)`
            : '') +
          '\n',
      );
    if (signal.aborted) return 130;
    return failed.length > 0 ? 1 : 0;
  } catch (err) {
    if (flags.json)
      process.stdout.write(`${JSON.stringify({ error: toSluiceError(err).toJSON() }, null, 2)}\n`);
    else printError(err);
    return 2;
  } finally {
    done();
  }
}

function line(o: Outcome): string {
  const mark = o.status === 'success' ? pc.green('✓') : pc.red('✗');
  const secs = `${(o.durationMs / 1000).toFixed(1)} s`;
  return `${mark} ${o.date} ${o.status} ${pc.dim(secs)}${o.error ? ` ${o.error}` : ''}`;
}

/** Runs `work` over `items`, at most `n` at once, in order of start; none start once `signal` aborts. */
async function pool<T, R>(
  items: T[],
  n: number,
  signal: AbortSignal,
  work: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let started = 0;
  const lane = async () => {
    while (next < items.length && !signal.aborted) {
      const i = next++;
      started++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, lane));
  return out.slice(0, started).filter((r) => r !== undefined);
}
