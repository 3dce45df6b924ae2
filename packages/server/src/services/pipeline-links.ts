import type { Issue } from '@sluice/core';
import { and, eq, isNull } from 'drizzle-orm';
import { notFound } from '../api/errors.ts';
import { pipelines, pipelineVersions } from '../db/schema.ts';
import type { Platform } from '../platform.ts';

// Dependent pipelines: a spec's `triggers.onSuccessOf` names pipelines whose every successful job
// starts a job of it (services/dependents.ts). Edges are by name (a pipeline may name one created
// later) and read from each pipeline's current version.

export interface Triggers {
  onSuccessOf?: string[];
  /** `<pipeline>/<dataset>`: each update of the dataset starts a job. */
  onDatasetUpdate?: string[];
  params?: Record<string, unknown>;
}

export const triggersOf = (spec: unknown): Triggers =>
  ((spec as { triggers?: Triggers } | null)?.triggers ?? {}) as Triggers;

/** `orders-daily/orders` → its pipeline and dataset (the spec's pattern has exactly one slash). */
export function splitDatasetRef(ref: string): { pipeline: string; dataset: string } {
  const at = ref.lastIndexOf('/');
  return { pipeline: ref.slice(0, at), dataset: ref.slice(at + 1) };
}

/**
 * The pipelines a spec runs after, each with where it is named: by `onSuccessOf`, and the
 * pipelines of the datasets in `onDatasetUpdate` (an edge for loops like any other).
 */
function upstreamOf(spec: unknown): { name: string; path: string; dataset?: string }[] {
  const t = triggersOf(spec);
  return [
    ...(t.onSuccessOf ?? []).map((name, i) => ({ name, path: `triggers.onSuccessOf[${i}]` })),
    ...(t.onDatasetUpdate ?? []).map((ref, i) => {
      const { pipeline, dataset } = splitDatasetRef(ref);
      return { name: pipeline, path: `triggers.onDatasetUpdate[${i}]`, dataset };
    }),
  ];
}

/**
 * The datasets a spec's flows end in (`sink: dataset`, by `with.name`): what a dataset trigger
 * naming it can wait for. Read from the spec as written; a name built from a parameter is not known.
 */
function datasetsWritten(spec: unknown): string[] {
  const steps = (spec as { steps?: { flow?: { sink?: string; with?: { name?: unknown } }[] }[] } | null)
    ?.steps;
  return (steps ?? []).flatMap((s) =>
    (Array.isArray(s.flow) ? s.flow : []).flatMap((c) =>
      c?.sink === 'dataset' && typeof c.with?.name === 'string' ? [c.with.name] : [],
    ),
  );
}
const nameOf = (spec: unknown) => (spec as { name?: string } | null)?.name ?? '';

export interface Node {
  id: string;
  name: string;
  spec: unknown;
}

/** Every live pipeline with its current spec. */
export async function livePipelines(p: Platform): Promise<Node[]> {
  return p.database.db
    .select({ id: pipelines.id, name: pipelines.name, spec: pipelineVersions.spec })
    .from(pipelines)
    .innerJoin(
      pipelineVersions,
      and(
        eq(pipelineVersions.pipelineId, pipelines.id),
        eq(pipelineVersions.version, pipelines.currentVersion),
      ),
    )
    .where(isNull(pipelines.deletedAt));
}

/**
 * What saving `spec` (as pipeline `self`, or a new one) would make of the graph: a loop (a → b → a,
 * or a pipeline after itself) is an issue at `triggers.onSuccessOf[i]` naming the loop; a name no
 * pipeline has is a warning (it may be created later; until then nothing starts this one).
 */
export async function triggerIssues(
  p: Platform,
  spec: unknown,
  self?: string,
): Promise<{ issues: Issue[]; warnings: Issue[] }> {
  const after = upstreamOf(spec);
  if (after.length === 0) return { issues: [], warnings: [] };
  const me = nameOf(spec);
  const others = (await livePipelines(p)).filter((n) => n.id !== self && n.name !== me);
  // Upstream edges by name: who each pipeline runs after.
  const upstream = new Map<string, string[]>(
    others.map((n) => [n.name, upstreamOf(n.spec).map((u) => u.name)]),
  );
  upstream.set(
    me,
    after.map((u) => u.name),
  );
  const specs = new Map(others.map((n) => [n.name, n.spec]));
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  for (const { name, path, dataset } of after) {
    if (name === me) {
      issues.push({ path, message: `pipeline "${me}" cannot run after itself: remove "${name}"` });
      continue;
    }
    const loop = pathTo(upstream, name, me);
    if (loop)
      issues.push({
        path,
        message: `a loop: ${[me, ...loop].join(' → ')} (each runs after the next); remove "${name}" or the trigger that leads back to "${me}"`,
      });
    else if (!upstream.has(name))
      warnings.push({
        path,
        message: `no pipeline is named "${name}" yet: this pipeline starts after it once it exists`,
      });
    else if (dataset !== undefined && !datasetsWritten(specs.get(name)).includes(dataset)) {
      const written = datasetsWritten(specs.get(name));
      warnings.push({
        path,
        message:
          `pipeline "${name}" writes no dataset "${dataset}" ` +
          `(${written.length ? `its datasets: ${written.join(', ')}` : 'it writes none'}): nothing starts this pipeline until it does`,
      });
    }
  }
  return { issues, warnings };
}

/** A path of upstream edges from `from` to `to` (both included), depth first; null when none. */
function pathTo(upstream: Map<string, string[]>, from: string, to: string): string[] | null {
  const seen = new Set<string>();
  const walk = (at: string): string[] | null => {
    if (at === to) return [at];
    if (seen.has(at)) return null;
    seen.add(at);
    for (const next of upstream.get(at) ?? []) {
      const rest = walk(next);
      if (rest) return [at, ...rest];
    }
    return null;
  };
  return walk(from);
}

export interface PipelineLink {
  name: string;
  /** Null for a name no live pipeline has. */
  pipelineId: string | null;
  /** Set when the link is an update of this dataset of the upstream pipeline (`onDatasetUpdate`). */
  dataset?: string;
}

/** What the pipeline page shows: the pipelines it runs after, and those that run after it. */
export async function pipelineLinks(
  p: Platform,
  id: string,
): Promise<{ runsAfter: PipelineLink[]; triggers: PipelineLink[] }> {
  const all = await livePipelines(p);
  const me = all.find((n) => n.id === id);
  if (!me) throw notFound('pipeline', id);
  const byName = new Map(all.map((n) => [n.name, n.id]));
  const link = (name: string, pipelineId: string | null, dataset?: string): PipelineLink => ({
    name,
    pipelineId,
    ...(dataset === undefined ? {} : { dataset }),
  });
  return {
    runsAfter: upstreamOf(me.spec).map((u) => link(u.name, byName.get(u.name) ?? null, u.dataset)),
    triggers: all
      .flatMap((n) =>
        upstreamOf(n.spec)
          .filter((u) => u.name === me.name)
          .map((u) => link(n.name, n.id, u.dataset)),
      )
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}
