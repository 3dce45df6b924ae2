import type { QueryClient } from '@tanstack/react-query';
import { ApiError, api, type Issue } from '../api/client.ts';
import type { JsonSchema, Pipeline, PipelineSpec } from '../api/types.ts';
import { schemaQuery } from './catalog.ts';
import { checkSpec } from './checks.ts';
import { connectorOf, roleOf, stepKind } from './spec-model.ts';

// Validate and save, as the API does them: an existing pipeline has POST /validate; a new one has
// no id yet, so the server's checks come with the create (a 400 whose details carry the paths).

/** The schemas of every connector the spec names, fetched (or taken from the cache) first. */
export async function clientIssues(qc: QueryClient, spec: PipelineSpec): Promise<Issue[]> {
  const used = new Map<string, ['source' | 'transform' | 'sink' | 'task', string]>();
  for (const s of spec.steps ?? []) {
    if (stepKind(s) === 'task') {
      if (s.task) used.set(`task:${s.task}`, ['task', s.task]);
    } else
      for (const c of s.flow ?? [])
        if (connectorOf(c)) used.set(`${roleOf(c)}:${connectorOf(c)}`, [roleOf(c), connectorOf(c)]);
  }
  const schemas = new Map<string, JsonSchema>();
  await Promise.all(
    [...used].map(async ([key, [kind, name]]) => {
      // An unknown connector has no schema: the server names it (and suggests the closest).
      const schema = await qc.fetchQuery(schemaQuery(kind, name)).catch(() => undefined);
      if (schema) schemas.set(key, schema);
    }),
  );
  return checkSpec(spec, (kind, name) => schemas.get(`${kind}:${name}`));
}

export type Outcome =
  | { kind: 'ok' }
  | { kind: 'issues'; issues: Issue[] }
  | { kind: 'saved'; pipeline: Pipeline }
  | { kind: 'error'; error: unknown };

/** Server-side validation of an existing pipeline's draft (paths like `steps[0].flow[1].with.where`). */
export async function validateOnServer(id: string, spec: PipelineSpec): Promise<Outcome> {
  try {
    const r = await api<{ ok: boolean; issues: Issue[] }>('POST', `/pipelines/${id}/validate`, { spec });
    return r.ok && r.issues.length === 0 ? { kind: 'ok' } : { kind: 'issues', issues: r.issues };
  } catch (error) {
    return { kind: 'error', error };
  }
}

/** Creates (no id) or updates (a new version); a 400 with details is returned as issues. */
export async function save(id: string | undefined, spec: PipelineSpec): Promise<Outcome> {
  try {
    const pipeline = id
      ? await api<Pipeline>('PUT', `/pipelines/${id}`, { spec, description: spec.description ?? '' })
      : await api<Pipeline>('POST', '/pipelines', {
          name: spec.name,
          spec,
          description: spec.description ?? '',
        });
    return { kind: 'saved', pipeline };
  } catch (error) {
    if (error instanceof ApiError && error.status === 400 && error.details.length > 0)
      return { kind: 'issues', issues: error.details };
    return { kind: 'error', error };
  }
}

/** Both lists, without the problems each side reports in the same words at the same place. */
export function mergeIssues(a: Issue[], b: Issue[]): Issue[] {
  const seen = new Set<string>();
  return [...a, ...b].filter((i) => {
    const k = `${i.path.replace(/^spec\./, '')}|${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
