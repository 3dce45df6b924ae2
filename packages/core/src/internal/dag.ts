import { ErrorCode } from '../errors.ts';
import type { PlannedStep } from '../plan.ts';
import type { StepReport, StepStatus } from '../report.ts';

/**
 * Starts every step whose needs have succeeded, up to `concurrency` at once; a step whose need
 * failed, was skipped or was cancelled is skipped itself, and nothing new starts once cancelled.
 */
export async function scheduleDag<S extends Pick<PlannedStep, 'id' | 'kind' | 'needs'>>(
  steps: S[],
  concurrency: number,
  signal: AbortSignal,
  run: (s: S) => Promise<StepReport>,
): Promise<Map<string, StepReport>> {
  const reports = new Map<string, StepReport>();
  const running = new Map<string, Promise<void>>();
  const pending = new Set(steps);
  while (pending.size > 0 || running.size > 0) {
    for (const s of [...pending]) {
      const needs = s.needs.map((n) => reports.get(n));
      const blocked = needs.find((r) => r && r.status !== 'success');
      if (blocked || signal.aborted) {
        pending.delete(s);
        const status: StepStatus = signal.aborted ? 'cancelled' : 'skipped';
        const why = signal.aborted
          ? 'the run was cancelled'
          : `skipped because step "${blocked!.id}" ${blocked!.status}`;
        reports.set(s.id, {
          ...emptyStep(s, status),
          error: { code: ErrorCode.ABORTED, message: why, step: s.id },
        });
        continue;
      }
      if (needs.every((r) => r?.status === 'success') && running.size < concurrency) {
        pending.delete(s);
        running.set(
          s.id,
          run(s).then((r) => {
            reports.set(s.id, r);
            running.delete(s.id);
          }),
        );
      }
    }
    if (running.size > 0) await Promise.race(running.values());
    else if (pending.size > 0 && ![...pending].some((s) => s.needs.every((n) => reports.has(n)))) break;
  }
  return reports;
}

/** A step's report before (or without) any work: zero rows, no attempt. */
export function emptyStep(step: Pick<PlannedStep, 'id' | 'kind'>, status: StepStatus): StepReport {
  return {
    id: step.id,
    kind: step.kind,
    status,
    attempts: 0,
    rowsRead: 0,
    rowsWritten: 0,
    rowsFiltered: 0,
    rowsQuarantined: 0,
    durationMs: 0,
    components: [],
  };
}
