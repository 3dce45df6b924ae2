import type { ResolvedStep } from '@sluice/core';

/** The columns of a job row that decide which worker takes it, and when (queue/boss.ts sendJob). */
export interface RoutingColumns {
  priority: number;
  concurrency: number | null;
  runsOn: string[];
}

/**
 * A new job's routing: its priority (the execute call's, else the spec's, else 0), its
 * pipeline's concurrency limit and the worker tags its steps need. Read from the stored spec
 * document, valid already: the pipeline-level fields sit at its top in both spec forms.
 */
export function jobRouting(
  spec: unknown,
  steps: readonly Pick<ResolvedStep, 'runsOn'>[],
  priority?: number,
): RoutingColumns {
  const top = spec as { priority?: number; concurrency?: number };
  return {
    priority: priority ?? top.priority ?? 0,
    concurrency: top.concurrency ?? null,
    runsOn: stepTags(steps),
  };
}

/**
 * Every tag the steps need, sorted. A job goes to one worker whole (its steps share a workspace
 * on that worker's disk), so that worker must have the tags of all of them.
 */
export function stepTags(steps: readonly Pick<ResolvedStep, 'runsOn'>[]): string[] {
  return [...new Set(steps.flatMap((s) => s.runsOn ?? []))].sort();
}
