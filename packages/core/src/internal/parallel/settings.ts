import { isIP } from 'node:net';
import { availableParallelism, hostname, networkInterfaces } from 'node:os';
import type { WorkerModule } from '../../connector.ts';
import { ErrorCode, SluiceError } from '../../errors.ts';
import type { PlannedFlow } from '../../plan.ts';

/** How eligible flows use worker threads (see docs/parallel.md). */
export interface ParallelOptions {
  /**
   * Threads that parse, transform and encode a flow's rows, counting the main thread when it takes
   * a share (`mainShare`); 1 runs every flow on the main thread alone, as before.
   * @defaultValue os.availableParallelism(), at most 8, one fewer for a flow that reads from or
   * writes to a server on this machine
   */
  threads?: number;
  /**
   * The main thread works on chunks itself, besides reading, merging and writing, whenever the
   * workers are full and it would otherwise wait, so `threads: 2` starts one worker. Measured on 2 cores: as fast as two workers and
   * one worker's memory less (each holds its own heap and copy of the connectors).
   * @defaultValue true
   */
  mainShare?: boolean;
  /**
   * Bytes read and handed out at a time (a chunk ends at the last record boundary in it).
   * Measured on 2 cores: 512 KiB peaked ~15 MB lower than 1 MiB on 1M rows, no slower. 256 KiB
   * (with as many bytes queued) peaked ~20 MB lower on 1M rows but not on 5M (~190 MB either way,
   * the main thread's young generation growing over a long run), so it bought nothing that lasts.
   * @defaultValue 512 KiB
   */
  chunkBytes?: number;
  /** Inputs with fewer bytes left to read run serially: starting workers costs more than they save. @defaultValue 8 MiB */
  minBytes?: number;
}

export type ParallelSettings = Required<ParallelOptions> & {
  /** `threads` is the machine's core count, not a number the caller chose. */
  fromCores: boolean;
};

export const parallelDefaults = {
  threads: 0,
  mainShare: true,
  chunkBytes: 1 << 19,
  minBytes: 8 << 20,
  fromCores: false,
} as const satisfies ParallelSettings;

const MAX_DEFAULT_THREADS = 8;

/** The settings to run with, or undefined when flows run on the main thread only. */
export function parallelSettings(options: ParallelOptions | false | undefined): ParallelSettings | undefined {
  if (options === false) return undefined;
  // A chunk of 0 bytes would never reach the end of the file: refused like any bad setting.
  for (const [name, least] of [
    ['threads', 1],
    ['chunkBytes', 1],
    ['minBytes', 0],
  ] as const) {
    const v = options?.[name];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= least)) {
      throw new SluiceError(
        ErrorCode.CONFIG,
        `parallel.${name} must be a whole number of at least ${least}, not ${String(v)}`,
        { issues: [{ path: `parallel.${name}`, message: `must be an integer >= ${least}` }] },
      );
    }
  }
  const fromCores = options?.threads === undefined;
  const threads = options?.threads ?? Math.min(availableParallelism(), MAX_DEFAULT_THREADS);
  if (threads <= 1) return undefined;
  return { ...parallelDefaults, ...options, threads, fromCores };
}

/**
 * The settings `step` runs with, or undefined when it runs on the main thread. A server on this
 * machine that the flow reads from or writes to (its database on loopback, an S3-compatible store
 * on localhost) needs a core for the bytes it serves or the rows it is sent, so a thread count
 * taken from the cores leaves it one. Measured on 2 cores, W6 (CSV → MariaDB on loopback): one
 * thread 3.1 s of wall and CPU against two threads' 3.8 s of wall and 4.4 s of CPU, the server's
 * 1.9 s of CPU competing with both; W1 (PostgreSQL) the same wall with 15% less CPU.
 */
export function flowSettings(
  settings: ParallelSettings | undefined,
  step: PlannedFlow,
): ParallelSettings | undefined {
  if (settings === undefined || !settings.fromCores) return settings;
  const hosts = [
    step.source.def.server?.(step.source.config),
    ...step.sinks.map((s) => s.def.server?.(s.config)),
  ];
  const local = hosts.some((host) => host !== undefined && onThisMachine(host));
  if (!local) return settings;
  return settings.threads <= 2 ? undefined : { ...settings, threads: settings.threads - 1 };
}

/** A host name or address of this machine: loopback, a Unix socket (`''` or a path), its own name or addresses. */
export function onThisMachine(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === '' || h.startsWith('/') || h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4 && h.startsWith('127.')) return true;
  if (h === '::1' || h.startsWith('::ffff:127.')) return true;
  if (h === hostname().toLowerCase()) return true;
  return Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((a) => a.address.toLowerCase() === h),
  );
}

/**
 * The worker module that can run `step` in threads, or undefined when it must run serially: its
 * source must cut into chunks, every transform be row-local (no state across rows: a dedupe
 * cannot see the rows of other chunks), every sink encode rows off its writer, and all of them be
 * loadable by the same worker module.
 */
export function parallelWorker(step: PlannedFlow): WorkerModule | undefined {
  const worker = step.source.def.worker;
  if (worker === undefined || step.source.def.chunked === undefined) return undefined;
  if (!step.transforms.every((t) => t.def.rowLocal === true && t.def.worker === worker)) return undefined;
  if (!step.sinks.every((s) => s.def.rowEncoder !== undefined && s.def.worker === worker)) return undefined;
  return worker.resolve() === undefined ? undefined : worker;
}
