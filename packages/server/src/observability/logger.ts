import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';

export type { Logger };

// Field names whose values never reach a log line, wherever they sit in a logged object.
const SECRET_FIELDS = [
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'authorization',
  'cookie',
  'data',
];
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.query.token',
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]),
];

export interface LoggerOptions {
  /** trace, debug, info, warn, error, fatal or silent. @defaultValue SLUICE_LOG_LEVEL, else info */
  level?: string;
  /** Human-readable lines (pino-pretty) instead of JSON. @defaultValue stdout is a terminal */
  pretty?: boolean;
  /** Where lines go (tests collect them). @defaultValue stdout */
  destination?: pino.DestinationStream;
}

/**
 * The process log: pino JSON lines (one object per line, for a log shipper), or readable lines on
 * a terminal. Job and step lines carry jobId, stepId and traceId (logs.ts).
 */
export function createLogger(o: LoggerOptions = {}): Logger {
  const level = o.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info';
  const pretty =
    !o.destination &&
    (o.pretty ?? (process.stdout.isTTY === true && process.env.SLUICE_LOG_FORMAT !== 'json'));
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'sluice', pid: process.pid },
    redact: { paths: REDACT, censor: '********' },
  };
  if (o.destination) return pino(options, o.destination);
  return pretty ? pino(options, prettyStream()) : pino(options);
}

/**
 * pino-pretty in this thread, not as a pino transport: a transport runs in a worker thread of
 * its own, which held ~30 MB of an idle `sluice serve` started from a terminal (measured: 312 MB
 * against 257–285 MB with JSON lines), for a few lines a second. Loaded only on a terminal.
 */
function prettyStream(): pino.DestinationStream {
  const pinoPretty = createRequire(import.meta.url)('pino-pretty') as (o: object) => pino.DestinationStream;
  return pinoPretty({
    translateTime: 'SYS:HH:MM:ss',
    // One line per event on a terminal: the ids a log shipper needs would fill the console four
    // lines at a time, so the step and job lead and end the line instead.
    ignore: 'service,pid,hostname,jobId,stepId,componentId,traceId',
    messageFormat: '{if stepId}{stepId}: {end}{msg}{if jobId} (job {jobId}){end}',
  });
}

// The trace of each job this process runs, so every line about it can name its trace.
const traces = new Map<string, string>();
export const jobTrace = {
  set: (jobId: string, traceId: string) => traces.set(jobId, traceId),
  get: (jobId: string) => traces.get(jobId),
  delete: (jobId: string) => traces.delete(jobId),
};

const LEVEL: Record<string, 'debug' | 'info' | 'warn' | 'error'> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Mirrors a job log line (already masked of the step's secrets) to the process log. */
export function logJobLine(
  log: Logger,
  jobId: string,
  line: { level: string; stepId?: string; componentId?: string; message: string },
): void {
  const traceId = traces.get(jobId);
  log[LEVEL[line.level] ?? 'info'](
    {
      jobId,
      ...(line.stepId ? { stepId: line.stepId } : {}),
      ...(line.componentId ? { componentId: line.componentId } : {}),
      ...(traceId ? { traceId } : {}),
    },
    line.message,
  );
}
