import { ErrorCode } from '../errors.ts';
import type { PlannedStep } from '../plan.ts';
import type { StepReport, StepStatus } from '../report.ts';

/**
 * Starts every step once its needs have finished and its `when` holds: by default when they all
 * succeeded; a step whose need failed, was skipped or was cancelled is skipped itself. Nothing new
 * starts once cancelled.
 */
export async function scheduleDag<S extends Pick<PlannedStep, 'id' | 'kind' | 'needs' | 'when'>>(
  steps: S[],
  concurrency: number,
  signal: AbortSignal,
  run: (s: S) => Promise<StepReport>,
): Promise<Map<string, StepReport>> {
  const reports = new Map<string, StepReport>();
  const running = new Map<string, Promise<void>>();
  const pending = new Set(steps);
  const skip = (s: S, status: StepStatus, why: string) => {
    pending.delete(s);
    reports.set(s.id, {
      ...emptyStep(s, status),
      error: { code: ErrorCode.ABORTED, message: why, step: s.id },
    });
  };
  while (pending.size > 0 || running.size > 0) {
    for (const s of [...pending]) {
      if (signal.aborted) {
        skip(s, 'cancelled', 'the run was cancelled');
        continue;
      }
      const needs = s.needs.map((n) => reports.get(n));
      const when = s.when ?? 'success';
      const blocked = needs.find((r) => r && r.status !== 'success');
      if (when === 'success' && blocked) {
        skip(s, 'skipped', `skipped because step "${blocked.id}" ${blocked.status}`);
        continue;
      }
      if (!needs.every((r) => r !== undefined)) continue;
      if (when === 'failure' && !blocked) {
        skip(s, 'skipped', 'skipped because every step it needs succeeded (when: failure)');
        continue;
      }
      if (running.size < concurrency) {
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

/** Whether step `from` waits, directly or through other steps, for step `on`. */
export function dependsOn(needs: Map<string, readonly string[]>, from: string, on: string): boolean {
  const seen = new Set<string>();
  const todo = [...(needs.get(from) ?? [])];
  while (todo.length > 0) {
    const id = todo.pop()!;
    if (id === on) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    todo.push(...(needs.get(id) ?? []));
  }
  return false;
}
