import { readFile } from 'node:fs/promises';
import { getHeapStatistics } from 'node:v8';

/**
 * The memory Chromium may hold, by default: the heap limit of the process running the step — on
 * the platform the worker's `--step-memory`, given to each step process as its V8 limit — so a
 * browser step is held to the same budget as any other step, though Chromium's processes are not
 * Node's.
 */
export function defaultBrowserMemoryMb(): number {
  return Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
}

/**
 * The memory a set of processes holds together: the sum of their proportional set sizes (a page
 * shared by four of Chromium's processes counts a quarter in each), so shared libraries and the
 * zygote's pages are counted once. Falls back to resident size where `smaps_rollup` is refused.
 */
export async function memoryOf(pids: readonly number[]): Promise<number> {
  const sizes = await Promise.all(
    pids.map(async (pid) => {
      const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => undefined);
      const pss = rollup && /^Pss:\s+(\d+) kB/m.exec(rollup)?.[1];
      if (pss) return Number(pss) * 1024;
      const statm = await readFile(`/proc/${pid}/statm`, 'utf8').catch(() => '');
      return Number(statm.split(' ')[1] ?? 0) * 4096;
    }),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

export interface MemoryWatch {
  /** The most the browser held at one reading. */
  readonly peakBytes: number;
  /** Set once the browser went over the limit (and was told to stop). */
  readonly overBytes: number | undefined;
  stop(): void;
}

/**
 * Reads the browser's memory every `everyMs` and calls `over` once, the first time it holds more
 * than `limitBytes`. A reading between two allocations can miss a short spike: the limit bounds
 * what the browser keeps, as a worker's memory needs to, not each instant.
 */
export function watchMemory(o: {
  processes: () => Promise<number[]>;
  limitBytes: number;
  everyMs?: number;
  over: (bytes: number) => void;
}): MemoryWatch {
  let peakBytes = 0;
  let overBytes: number | undefined;
  let reading = false;
  const timer = setInterval(async () => {
    if (reading || overBytes !== undefined) return;
    reading = true;
    try {
      const bytes = await memoryOf(await o.processes());
      peakBytes = Math.max(peakBytes, bytes);
      if (bytes > o.limitBytes) {
        overBytes = bytes;
        o.over(bytes);
      }
    } finally {
      reading = false;
    }
  }, o.everyMs ?? 250);
  timer.unref();
  return {
    get peakBytes() {
      return peakBytes;
    },
    get overBytes() {
      return overBytes;
    },
    stop: () => clearInterval(timer),
  };
}
