import {
  ConfigError,
  checkDeferred,
  ErrorCode,
  type Issue,
  normalizeSpec,
  type ResolvedPlan,
  resolvePlan,
  toSluiceError,
} from '@sluice/core';
import { and, count, desc, eq, ilike, isNull, sql } from 'drizzle-orm';
import { conflict, notFound } from '../api/errors.ts';
import type { Db } from '../db/open.ts';
import { type Pipeline, pipelines, pipelineVersions } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { PIPELINE_ENV_NOTE } from '../security/pipeline-env.ts';
import { triggerIssues } from './pipeline-links.ts';
import { missingCredentials } from './step-credentials.ts';

export interface PipelineListItem extends PipelineView {
  lastRun: { id: string; status: string; createdAt: string } | null;
  nextRunAt: string | null;
}

export interface PipelineView {
  id: string;
  name: string;
  description: string;
  version: number;
  spec: unknown;
  parameters: unknown;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

/**
 * Checks a spec as a run would: shape, DAG and every connector config. When the spec declares
 * parameters without defaults, configs that use them can only be checked at run time, so then
 * only the shape and DAG are checked here.
 */
export async function validateSpec(
  p: Platform,
  spec: unknown,
  self?: string,
): Promise<{ ok: boolean; issues: Issue[]; warnings: Issue[] }> {
  const v = checkSpec(p, spec);
  if (!v.ok) return { ...v, warnings: [] };
  const deferred = await deferredIssues(p, spec);
  if (deferred.length > 0) return { ok: false, issues: deferred, warnings: [] };
  const named = credentialRefs(spec);
  const missing = new Set(await missingCredentials(p, [...new Set(named.map((n) => n.name))]));
  const triggers = await triggerIssues(p, spec, self);
  const issues = named
    .filter((n) => missing.has(n.name))
    .map((n) => ({
      path: n.path,
      message: `credential "${n.name}" does not exist; create it first (POST /api/v1/credentials)`,
    }))
    .concat(triggers.issues);
  return { ok: issues.length === 0, issues, warnings: triggers.warnings };
}

/** Where a (valid) spec names credentials: tasks and flow components. */
function credentialRefs(spec: unknown): { name: string; path: string }[] {
  const short = (spec as { flow?: unknown }).flow !== undefined;
  const out: { name: string; path: string }[] = [];
  normalizeSpec(spec).steps?.forEach((step, i) => {
    const at = short ? '' : `steps[${i}].`;
    if (step.credential) out.push({ name: step.credential, path: `${at}credential` });
    step.flow?.forEach((c, j) => {
      if (c.credential) out.push({ name: c.credential, path: `${at}flow[${j}].credential` });
    });
  });
  return out;
}

/**
 * Plans a stored pipeline the way its jobs run it, as data without secrets (core's ResolvedPlan,
 * what a job stores): `${env.…}` sees only the variables the operator exposed to pipelines, at
 * validation, at execution and for schedules alike.
 */
export function planStored(p: Platform, spec: unknown, params: Record<string, unknown>): ResolvedPlan {
  return resolvePlan(spec, {
    registry: p.registry,
    params,
    // Parameters come in a request body (execute, schedules) or a job's row.
    paramsPath: 'body.parameters',
    env: p.pipelineEnv,
    envNote: PIPELINE_ENV_NOTE,
  });
}

/** What the components' asynchronous checks find (a sql transform's query parsed by DuckDB). */
async function deferredIssues(p: Platform, spec: unknown): Promise<Issue[]> {
  let plan: ResolvedPlan;
  try {
    plan = planStored(p, spec, {});
  } catch {
    // Parameters without defaults: configs that use them are checked when a job runs.
    return [];
  }
  try {
    await checkDeferred(plan, p.registry);
    return [];
  } catch (err) {
    return issuesOf(err);
  }
}

function checkSpec(p: Platform, spec: unknown): { ok: boolean; issues: Issue[] } {
  try {
    planStored(p, spec, {});
    return { ok: true, issues: [] };
  } catch (err) {
    const e = toSluiceError(err);
    if (e.code === ErrorCode.PARAMS) {
      try {
        normalizeSpec(spec);
        return { ok: true, issues: [] };
      } catch (inner) {
        return { ok: false, issues: issuesOf(inner) };
      }
    }
    return { ok: false, issues: issuesOf(err) };
  }
}

function issuesOf(err: unknown): Issue[] {
  const e = toSluiceError(err);
  return e.issues.length > 0 ? e.issues : [{ path: '(root)', message: e.message }];
}

async function assertValid(p: Platform, spec: unknown, self?: string): Promise<void> {
  const v = await validateSpec(p, spec, self);
  if (!v.ok)
    throw new ConfigError(
      'invalid pipeline spec',
      // A problem with the whole document is at `spec` itself, not `spec.(root)`.
      v.issues.map((i) => ({ ...i, path: i.path === '(root)' || i.path === '' ? 'spec' : `spec.${i.path}` })),
    );
}

const specName = (spec: unknown) => (spec as { name?: string }).name ?? '';

function view(row: Pipeline, spec: unknown): PipelineView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    version: row.currentVersion,
    spec,
    parameters: row.parameters ?? null,
    active: row.active,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function live(p: Platform, id: string, db: Db = p.database.db): Promise<Pipeline> {
  const [row] = await db
    .select()
    .from(pipelines)
    .where(and(eq(pipelines.id, id), isNull(pipelines.deletedAt)));
  if (!row) throw notFound('pipeline', id);
  return row;
}

// A version is never changed once written: every job of it would otherwise read it again.
const specCache = new WeakMap<Platform, Map<string, unknown>>();
const SPECS_CACHED = 256;

/** A version's spec; `db` is the caller's transaction when it reads inside one. */
export async function getSpec(
  p: Platform,
  id: string,
  version: number,
  db: Db = p.database.db,
): Promise<unknown> {
  const cache = specCache.get(p) ?? new Map<string, unknown>();
  specCache.set(p, cache);
  const key = `${id}@${version}`;
  if (cache.has(key)) return cache.get(key);
  const [v] = await db
    .select()
    .from(pipelineVersions)
    .where(and(eq(pipelineVersions.pipelineId, id), eq(pipelineVersions.version, version)));
  if (!v) throw notFound(`version ${version} of pipeline`, id);
  if (cache.size >= SPECS_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(key, v.spec);
  return v.spec;
}

export async function getPipeline(p: Platform, id: string): Promise<PipelineView> {
  const row = await live(p, id);
  return view(row, await getSpec(p, id, row.currentVersion));
}

export async function listPipelines(
  p: Platform,
  q: { limit: number; offset: number; search?: string },
): Promise<{ items: PipelineListItem[]; total: number }> {
  const where = and(
    isNull(pipelines.deletedAt),
    q.search ? ilike(pipelines.name, `%${q.search}%`) : undefined,
  );
  // What a list shows at a glance: the latest run and the next scheduled one.
  const lastRun = sql<{ id: string; status: string; createdAt: string } | null>`(
    SELECT json_build_object('id', j.id, 'status', j.status, 'createdAt', j.created_at)
    FROM job_executions j WHERE j.pipeline_id = ${pipelines.id} ORDER BY j.created_at DESC LIMIT 1)`;
  const nextRun = sql<string | null>`(
    SELECT min(s.next_run_at) FROM schedules s WHERE s.pipeline_id = ${pipelines.id} AND NOT s.paused)`;
  const rows = await p.database.db
    .select({ p: pipelines, spec: pipelineVersions.spec, lastRun, nextRun })
    .from(pipelines)
    .innerJoin(
      pipelineVersions,
      and(
        eq(pipelineVersions.pipelineId, pipelines.id),
        eq(pipelineVersions.version, pipelines.currentVersion),
      ),
    )
    .where(where)
    .orderBy(pipelines.name)
    .limit(q.limit)
    .offset(q.offset);
  const [total] = await p.database.db.select({ n: count() }).from(pipelines).where(where);
  return {
    items: rows.map((r) => ({
      ...view(r.p, r.spec),
      lastRun: r.lastRun ? { ...r.lastRun, createdAt: new Date(r.lastRun.createdAt).toISOString() } : null,
      nextRunAt: r.nextRun ? new Date(r.nextRun).toISOString() : null,
    })),
    total: total!.n,
  };
}

export async function createPipeline(
  p: Platform,
  input: { spec: unknown; description?: string },
  user: string | null,
): Promise<PipelineView> {
  await assertValid(p, input.spec);
  const name = specName(input.spec);
  try {
    const row = await p.database.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(pipelines)
        .values({
          name,
          description: input.description ?? (input.spec as { description?: string }).description ?? '',
          parameters: (input.spec as { parameters?: unknown }).parameters ?? null,
          createdBy: user,
        })
        .returning();
      await tx
        .insert(pipelineVersions)
        .values({ pipelineId: row!.id, version: 1, spec: input.spec, createdBy: user });
      return row!;
    });
    return view(row, input.spec);
  } catch (err) {
    throw nameTaken(err, name);
  }
}

function nameTaken(err: unknown, name: string): unknown {
  const code =
    (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
  return code === '23505' ? conflict(`a pipeline named "${name}" exists already; choose another name`) : err;
}

/** A new spec makes a new version; the description alone changes in place. */
export async function updatePipeline(
  p: Platform,
  id: string,
  input: { spec?: unknown; description?: string },
  user: string | null,
): Promise<PipelineView> {
  const row = await live(p, id);
  if (input.spec !== undefined) await assertValid(p, input.spec, id);
  const version = input.spec === undefined ? row.currentVersion : row.currentVersion + 1;
  try {
    const updated = await p.database.db.transaction(async (tx) => {
      if (input.spec !== undefined) {
        await tx
          .insert(pipelineVersions)
          .values({ pipelineId: id, version, spec: input.spec, createdBy: user });
      }
      const [u] = await tx
        .update(pipelines)
        .set({
          currentVersion: version,
          updatedAt: new Date(),
          ...(input.spec === undefined
            ? {}
            : {
                name: specName(input.spec),
                parameters: (input.spec as { parameters?: unknown }).parameters ?? null,
              }),
          ...(input.description === undefined ? {} : { description: input.description }),
        })
        .where(eq(pipelines.id, id))
        .returning();
      return u!;
    });
    return view(updated, input.spec ?? (await getSpec(p, id, version)));
  } catch (err) {
    throw nameTaken(err, specName(input.spec));
  }
}

/** Soft delete: the pipeline's jobs and versions stay for history; its name is free again. */
export async function deletePipeline(p: Platform, id: string): Promise<void> {
  await live(p, id);
  await p.database.db
    .update(pipelines)
    .set({ deletedAt: new Date(), active: false })
    .where(eq(pipelines.id, id));
}

export async function listVersions(p: Platform, id: string) {
  await live(p, id);
  const rows = await p.database.db
    .select()
    .from(pipelineVersions)
    .where(eq(pipelineVersions.pipelineId, id))
    .orderBy(desc(pipelineVersions.version));
  return rows.map((v) => ({
    version: v.version,
    spec: v.spec,
    createdBy: v.createdBy,
    createdAt: v.createdAt.toISOString(),
  }));
}

export { live as livePipeline };
