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
  params?: Record<string, unknown>;
}

export const triggersOf = (spec: unknown): Triggers =>
  ((spec as { triggers?: Triggers } | null)?.triggers ?? {}) as Triggers;
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
  const after = triggersOf(spec).onSuccessOf ?? [];
  if (after.length === 0) return { issues: [], warnings: [] };
  const me = nameOf(spec);
  const others = (await livePipelines(p)).filter((n) => n.id !== self && n.name !== me);
  // Upstream edges by name: who each pipeline runs after.
  const upstream = new Map<string, string[]>(
    others.map((n) => [n.name, triggersOf(n.spec).onSuccessOf ?? []]),
  );
  upstream.set(me, after);
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  after.forEach((name, i) => {
    const path = `triggers.onSuccessOf[${i}]`;
    if (name === me) {
      issues.push({ path, message: `pipeline "${me}" cannot run after itself: remove "${name}"` });
      return;
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
  });
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
  return {
    runsAfter: (triggersOf(me?.spec).onSuccessOf ?? []).map((name) => ({
      name,
      pipelineId: byName.get(name) ?? null,
    })),
    triggers: all
      .filter((n) => (triggersOf(n.spec).onSuccessOf ?? []).includes(me.name))
      .map((n) => ({ name: n.name, pipelineId: n.id }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}
