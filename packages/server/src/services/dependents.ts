import { toSluiceError } from '@sluice/core';
import { eq, sql } from 'drizzle-orm';
import type { Job } from 'pg-boss';
import { pipelines, pipelineVersions } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { DEPENDENTS_QUEUE, inTransaction, type Tx } from '../queue/boss.ts';
import { writeLog } from '../worker/step-recorder.ts';
import { storedDatasets } from './datasets.ts';
import { executePipeline, getJob } from './jobs.ts';
import { livePipelines, triggersOf } from './pipeline-links.ts';

/**
 * Queued in the transaction that records a job's success: its dependents start even after a crash.
 * Only when some pipeline may run after this one: a message taken and handled for every job cost
 * five more transactions each, most of them finding nothing to start. The look is wider than
 * startDependents' (any dataset trigger of this pipeline's name), never narrower.
 */
export async function enqueueDependents(
  p: Platform,
  tx: Tx,
  job: { id: string; pipelineId: string },
): Promise<void> {
  const r = await tx.execute<{ any: boolean }>(sql`
    SELECT EXISTS (
      SELECT 1 FROM ${pipelines} d
      JOIN ${pipelineVersions} v ON v.pipeline_id = d.id AND v.version = d.current_version,
      (SELECT name FROM ${pipelines} WHERE id = ${job.pipelineId}) up
      WHERE d.deleted_at IS NULL AND (
        coalesce(v.spec->'triggers'->'onSuccessOf', '[]'::jsonb) @> jsonb_build_array(up.name)
        OR EXISTS (
          SELECT 1 FROM jsonb_array_elements_text(coalesce(v.spec->'triggers'->'onDatasetUpdate', '[]'::jsonb)) ref
          WHERE starts_with(ref, up.name || '/')))) AS "any"`);
  if (!(r as unknown as { rows: { any: boolean }[] }).rows[0]?.any) return;
  await p.queue.send(DEPENDENTS_QUEUE, { jobId: job.id }, inTransaction(tx));
}

const PLACEHOLDER = /\$\{upstream\.(params\.([A-Za-z_][A-Za-z0-9_]*)|jobId|pipeline|completedAt)\}/g;
const WHOLE = new RegExp(`^${PLACEHOLDER.source}$`);

/**
 * The parameters of a dependent job: the upstream job's parameters that the dependent declares
 * (same names), then `triggers.params`, whose strings may use `${upstream.params.x}`,
 * `${upstream.jobId}`, `${upstream.pipeline}` and `${upstream.completedAt}`. A string that is one
 * placeholder keeps the value's type; a parameter the upstream job lacks leaves the key out (so
 * the dependent's default applies).
 */
export function dependentParams(
  spec: unknown,
  upstream: { jobId: string; pipeline: string; completedAt: string | null; params: Record<string, unknown> },
): Record<string, unknown> {
  const declared = Object.keys(
    ((spec as { parameters?: { properties?: Record<string, unknown> } }).parameters?.properties ??
      {}) as object,
  );
  const out: Record<string, unknown> = {};
  for (const k of declared) if (k in upstream.params) out[k] = upstream.params[k];
  const value = (m: RegExpExecArray | RegExpMatchArray): unknown =>
    m[2] !== undefined
      ? upstream.params[m[2]]
      : m[1] === 'jobId'
        ? upstream.jobId
        : m[1] === 'pipeline'
          ? upstream.pipeline
          : upstream.completedAt;
  for (const [k, v] of Object.entries(triggersOf(spec).params ?? {})) {
    if (typeof v !== 'string') {
      out[k] = v;
      continue;
    }
    const whole = WHOLE.exec(v);
    if (whole) {
      const x = value(whole);
      if (x === undefined) delete out[k];
      else out[k] = x;
      continue;
    }
    let missing = false;
    const text = v.replace(PLACEHOLDER, (...m) => {
      const x = value(m as unknown as RegExpMatchArray);
      if (x === undefined || x === null) missing = true;
      return typeof x === 'string' ? x : JSON.stringify(x ?? '');
    });
    if (missing) delete out[k];
    else out[k] = text;
  }
  return out;
}

/**
 * Starts a job of every pipeline that runs after the succeeded job's pipeline. A message taken
 * twice starts nothing twice (one job per dependent and upstream job: a unique index); a
 * dependent that cannot start (its parameters refused) is said in the upstream job's log.
 */
export async function startDependents(p: Platform, m: Job<{ jobId: string }>): Promise<void> {
  const job = await getJob(p, m.data.jobId);
  const [pipeline] = await p.database.db
    .select({ name: pipelines.name })
    .from(pipelines)
    .where(eq(pipelines.id, job.pipelineId));
  if (!pipeline || job.status !== 'success') return;
  // A dataset is updated when a job that stored it succeeds: its writer step did, and the rest of
  // the job agreed with what it wrote.
  const updated = new Set((await storedDatasets(p, job.id)).map((d) => `${pipeline.name}/${d}`));
  const dependents = (await livePipelines(p)).flatMap((n) => {
    const t = triggersOf(n.spec);
    const datasets = (t.onDatasetUpdate ?? []).filter((ref) => updated.has(ref));
    const after = (t.onSuccessOf ?? []).includes(pipeline.name);
    return after || datasets.length > 0
      ? [{ ...n, why: after ? 'runs after this one' : `runs when ${datasets.join(', ')} is updated` }]
      : [];
  });
  const chain = dependents.length > 0 ? await upstreamChain(p, job) : new Set<string>();
  for (const d of dependents) {
    // Loops are refused when specs are saved, but two saves at once could still close one: a
    // pipeline already in this chain of jobs is not started again.
    if (chain.has(d.id)) {
      await writeLog(p, job.pipelineId, job.id, {
        level: 'WARN',
        message: `pipeline "${d.name}" ${d.why} but started this chain of jobs: not started again (a loop)`,
      });
      continue;
    }
    const parameters = dependentParams(d.spec, {
      jobId: job.id,
      pipeline: pipeline.name,
      completedAt: job.completedAt?.toISOString() ?? null,
      params: job.parameters as Record<string, unknown>,
    });
    try {
      const id = await executePipeline(p, d.id, {
        parameters,
        triggerType: 'pipeline',
        triggeredBy: `pipeline:${pipeline.name}`,
        upstreamJobId: job.id,
      });
      await writeLog(p, job.pipelineId, job.id, {
        level: 'INFO',
        message: `started job ${id} of pipeline "${d.name}", which ${d.why}`,
      });
    } catch (err) {
      if (uniqueViolation(err)) continue; // started already, by an earlier take of this message
      const e = toSluiceError(err);
      const where = e.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
      await writeLog(p, job.pipelineId, job.id, {
        level: 'ERROR',
        message: `pipeline "${d.name}" ${d.why} but could not start: ${e.message}${where ? ` (${where})` : ''}`,
      });
    }
  }
}

/** The pipelines of the job and of the jobs that started it, one after the other. */
async function upstreamChain(p: Platform, job: { pipelineId: string; upstreamJobId: string | null }) {
  const seen = new Set<string>([job.pipelineId]);
  let next = job.upstreamJobId;
  for (let hops = 0; next && hops < 100; hops++) {
    const up = await getJob(p, next).catch(() => undefined);
    if (!up) break;
    seen.add(up.pipelineId);
    next = up.upstreamJobId;
  }
  return seen;
}

function uniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e.code === '23505' || e.cause?.code === '23505';
}

/** Workers start dependents, one message at a time. */
export async function workDependents(p: Platform): Promise<() => Promise<void>> {
  await p.queue.work<{ jobId: string }>(
    DEPENDENTS_QUEUE,
    { pollingIntervalSeconds: 2, notifyPollingIntervalSeconds: 5 },
    async ([m]) => startDependents(p, m!),
  );
  return () => p.queue.offWork(DEPENDENTS_QUEUE, { wait: true });
}
