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

/**
 * Collects what the finished step left, between steps: the reset above starts from the process's
 * size then, which should be the engine at rest, not the last step's garbage (a large buffer's
 * memory returns to the system only once collected). Needs `--expose-gc` (the step host sets it).
 */
export function collectBetweenSteps(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  // Twice: V8 frees dead ArrayBuffers' memory (a Buffer's bytes) on a background sweeper after a
  // collection, and on a loaded machine that sweep had not run when the next step reset the mark;
  // a second collection first finishes the previous one's sweep.
  gc?.();
  gc?.();
}
