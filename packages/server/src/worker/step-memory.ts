import { writeFileSync } from 'node:fs';

/**
 * The peak resident memory of one step in a step process that may run several, one after
 * another. `maxRSS` alone is the process's peak over its whole life, so a `true` task after a
 * large flow in the same process reported the flow's peak. On Linux, writing 5 to
 * /proc/self/clear_refs resets the process's high-water mark (VmHWM, which getrusage reports) to
 * its current size, so the mark read at the end is this step's own. Where that is refused (not
 * Linux, a locked-down /proc) the figure is the process's peak and says so.
 */
export interface PeakWindow {
  /** Bytes, and whether they are this step's peak or the process's since it started. */
  end(): { peakRssBytes: number; peakScope: 'step' | 'process' };
}

export function startPeakWindow(): PeakWindow {
  let scope: 'step' | 'process' = 'step';
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    scope = 'process';
  }
  return {
    // maxRSS is in kilobytes.
    end: () => ({ peakRssBytes: process.resourceUsage().maxRSS * 1024, peakScope: scope }),
  };
}

// Two full collections cost ~40 ms of CPU in a step process at rest: for a `true` task, more than
// the rest of the job's bookkeeping together (measured: 68 → 30 ms of step-process CPU per no-op job).
// Garbage below this size moves a later step's peak by at most as much, so it is left to V8.
const COLLECT_ABOVE_BYTES = 32 * 1024 * 1024;
let restRss = 0;

/**
 * Collects what the finished step left, between steps, when it left the process more than 32 MB
 * above its size after the last collection: the reset above then starts from the engine at rest,
 * not from the last step's garbage (a large buffer's memory returns to the system only once
 * collected). Needs `--expose-gc` (the step host sets it).
 */
export function collectBetweenSteps(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc || process.memoryUsage.rss() - restRss <= COLLECT_ABOVE_BYTES) return;
  // Twice: V8 frees dead ArrayBuffers' memory (a Buffer's bytes) on a background sweeper after a
  // collection, and on a loaded machine that sweep had not run when the next step reset the mark;
  // a second collection first finishes the previous one's sweep.
  gc();
  gc();
  restRss = process.memoryUsage.rss();
}
