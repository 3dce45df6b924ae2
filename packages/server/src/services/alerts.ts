import { and, count, desc, eq, gte, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/open.ts';
import { alertEvents, alertRules, jobExecutions, pipelines, stepExecutions } from '../db/schema.ts';
import type { Platform } from '../platform.ts';
import { type AlertNotice, alertOptions, deliverInBackground } from './alert-channels.ts';
import type { AlertRule, Condition } from './alert-rules.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
type Pipe = { id: string; name: string; createdAt: Date };
/** A condition's state for one pipeline now: firing (with what and why), or clear. */
type Verdict = { firing: true; message: string; jobId: string | null } | { firing: false };

// Cancelled runs were stopped by someone: they neither raise nor clear an alert.
const FINISHED = ['success', 'failed', 'timeout'] as const;
const BAD = new Set<string>(['failed', 'timeout']);

const secs = (ms: number) =>
  ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
const pct = (x: number) => `${Math.round(x * 10) / 10}%`;
const errorOf = (j: { error: unknown }) => (j.error as { message?: string } | null)?.message;

function lastFinished(tx: Tx, pipelineId: string, n: number) {
  return tx
    .select()
    .from(jobExecutions)
    .where(and(eq(jobExecutions.pipelineId, pipelineId), inArray(jobExecutions.status, [...FINISHED])))
    .orderBy(desc(jobExecutions.completedAt))
    .limit(n);
}

/** Each condition, judged from the job table as it is now: idempotent, so any process may ask. */
const CHECKS: {
  [K in Condition['type']]: (
    tx: Tx,
    c: Extract<Condition, { type: K }>,
    p: Pipe,
    now: Date,
  ) => Promise<Verdict>;
} = {
  job_failed: async (tx, _c, p) => {
    const [j] = await lastFinished(tx, p.id, 1);
    if (!j || !BAD.has(j.status)) return { firing: false };
    return {
      firing: true,
      jobId: j.id,
      message: `pipeline "${p.name}": job ${j.id} ${j.status === 'timeout' ? 'timed out' : 'failed'}${errorOf(j) ? `: ${errorOf(j)}` : ''}`,
    };
  },
  consecutive_failures: async (tx, c, p) => {
    const js = await lastFinished(tx, p.id, c.count);
    if (js.length < c.count || !js.every((j) => BAD.has(j.status))) return { firing: false };
    const last = js[0]!;
    return {
      firing: true,
      jobId: last.id,
      message: `pipeline "${p.name}": the last ${c.count} runs failed (the latest, job ${last.id}${errorOf(last) ? `: ${errorOf(last)}` : ''})`,
    };
  },
  duration_above: async (tx, c, p, now) => {
    const limit = c.seconds * 1000;
    const running = await tx
      .select()
      .from(jobExecutions)
      .where(
        and(
          eq(jobExecutions.pipelineId, p.id),
          eq(jobExecutions.status, 'running'),
          lt(jobExecutions.startedAt, new Date(now.getTime() - limit)),
        ),
      )
      .orderBy(jobExecutions.startedAt)
      .limit(1);
    if (running[0]) {
      const j = running[0];
      return {
        firing: true,
        jobId: j.id,
        message: `pipeline "${p.name}": job ${j.id} has been running for ${secs(now.getTime() - j.startedAt!.getTime())}, over the ${c.seconds} s limit`,
      };
    }
    const [j] = await lastFinished(tx, p.id, 1);
    if (!j || (j.durationMs ?? 0) <= limit) return { firing: false };
    return {
      firing: true,
      jobId: j.id,
      message: `pipeline "${p.name}": job ${j.id} took ${secs(j.durationMs!)}, over the ${c.seconds} s limit`,
    };
  },
  failure_rate: async (tx, c, p, now) => {
    const since = new Date(now.getTime() - c.windowMinutes * 60_000);
    const rows = await tx
      .select({ status: jobExecutions.status, n: count() })
      .from(jobExecutions)
      .where(
        and(
          eq(jobExecutions.pipelineId, p.id),
          inArray(jobExecutions.status, [...FINISHED]),
          gte(jobExecutions.completedAt, since),
        ),
      )
      .groupBy(jobExecutions.status);
    const total = rows.reduce((a, r) => a + r.n, 0);
    const bad = rows.filter((r) => BAD.has(r.status)).reduce((a, r) => a + r.n, 0);
    const rate = total ? (bad * 100) / total : 0;
    if (total < (c.minRuns ?? 1) || total === 0 || rate < c.percent) return { firing: false };
    return {
      firing: true,
      jobId: null,
      message: `pipeline "${p.name}": ${bad} of ${total} runs in the last ${c.windowMinutes} min failed (${pct(rate)}, at or over ${c.percent}%)`,
    };
  },
  quarantine_rate: async (tx, c, p) => {
    const [j] = await lastFinished(tx, p.id, 1);
    if (!j) return { firing: false };
    const [s] = await tx
      .select({
        read: sql<number>`coalesce(sum(${stepExecutions.rowsRead}), 0)::float8`,
        quarantined: sql<number>`coalesce(sum(${stepExecutions.rowsQuarantined}), 0)::float8`,
      })
      .from(stepExecutions)
      .where(eq(stepExecutions.jobId, j.id));
    const read = Number(s?.read ?? 0);
    const quarantined = Number(s?.quarantined ?? 0);
    const rate = read > 0 ? (quarantined * 100) / read : 0;
    if (read === 0 || quarantined === 0 || rate < c.percent) return { firing: false };
    return {
      firing: true,
      jobId: j.id,
      message: `pipeline "${p.name}": job ${j.id} quarantined ${quarantined} of ${read} rows read (${pct(rate)}, at or over ${c.percent}%)`,
    };
  },
  stream_stale: async (tx, c, p, now) => {
    const [s] = await tx
      .select({
        jobId: stepExecutions.jobId,
        stepId: stepExecutions.stepId,
        startedAt: stepExecutions.startedAt,
        checkpointedAt: stepExecutions.checkpointedAt,
        lag: stepExecutions.lag,
      })
      .from(stepExecutions)
      .innerJoin(jobExecutions, eq(jobExecutions.id, stepExecutions.jobId))
      .where(
        and(
          eq(jobExecutions.pipelineId, p.id),
          eq(stepExecutions.streaming, true),
          eq(stepExecutions.status, 'running'),
        ),
      )
      .orderBy(desc(stepExecutions.startedAt))
      .limit(1);
    // A stream that is not running is no stalled stream (job_failed watches one that failed).
    if (!s) return { firing: false };
    // An idle stream (nothing waits) has nothing to checkpoint: quiet is not stale.
    const since = s.checkpointedAt ?? s.startedAt ?? now;
    const age = now.getTime() - since.getTime();
    if (age <= c.minutes * 60_000 || s.lag === 0) return { firing: false };
    const waiting = s.lag === null ? '' : ` with ${s.lag} messages waiting`;
    return {
      firing: true,
      jobId: s.jobId,
      message: s.checkpointedAt
        ? `pipeline "${p.name}": step "${s.stepId}" last checkpointed ${secs(age)} ago${waiting}; the window is ${c.minutes} min`
        : `pipeline "${p.name}": step "${s.stepId}" has not checkpointed since it started ${secs(age)} ago${waiting}; the window is ${c.minutes} min`,
    };
  },
  freshness: async (tx, c, p, now) => {
    const [ok] = await tx
      .select({ at: jobExecutions.completedAt })
      .from(jobExecutions)
      .where(and(eq(jobExecutions.pipelineId, p.id), eq(jobExecutions.status, 'success')))
      .orderBy(desc(jobExecutions.completedAt))
      .limit(1);
    const since = ok?.at ?? p.createdAt;
    const age = now.getTime() - since.getTime();
    if (age <= c.windowMinutes * 60_000) return { firing: false };
    return {
      firing: true,
      jobId: null,
      message: ok?.at
        ? `pipeline "${p.name}": no successful run for ${secs(age)} (the last finished ${ok.at.toISOString()}); the window is ${c.windowMinutes} min`
        : `pipeline "${p.name}": no successful run since it was created ${secs(age)} ago; the window is ${c.windowMinutes} min`,
    };
  },
};

/** What one evaluation changed. */
export interface Change {
  kind: 'fired' | 'resolved';
  eventId: string;
  ruleId: string;
  pipelineId: string;
}

/**
 * Evaluates one rule for one pipeline and records the change, if any, in one transaction that
 * holds the rule's row: processes evaluating the same rule queue behind each other, and the
 * unique index on open events stops a second firing event should anything slip past.
 *
 * - firing, nothing open, and no event for this rule and pipeline within the cooldown → a new event;
 * - clear, and an event open → it is resolved.
 */
async function evaluateOne(p: Platform, ruleId: string, pipe: Pipe, now: Date): Promise<Change | null> {
  const result = await p.database.db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(alertRules)
      .where(and(eq(alertRules.id, ruleId), eq(alertRules.enabled, true)))
      .for('update');
    if (!row) return null;
    const rule = row as AlertRule;
    const check = CHECKS[rule.condition.type] as (
      tx: Tx,
      c: Condition,
      p: Pipe,
      now: Date,
    ) => Promise<Verdict>;
    const verdict = await check(tx, rule.condition, pipe, now);
    const [last] = await tx
      .select()
      .from(alertEvents)
      .where(and(eq(alertEvents.ruleId, rule.id), eq(alertEvents.pipelineId, pipe.id)))
      .orderBy(desc(alertEvents.firedAt))
      .limit(1);
    if (verdict.firing) {
      if (last?.status === 'firing') return null;
      if (last && now.getTime() - last.firedAt.getTime() < rule.cooldownSeconds * 1000) return null;
      const [e] = await tx
        .insert(alertEvents)
        .values({
          ruleId: rule.id,
          status: 'firing',
          severity: rule.severity,
          message: verdict.message,
          pipelineId: pipe.id,
          jobId: verdict.jobId,
          firedAt: now,
        })
        .onConflictDoNothing()
        .returning();
      return e ? { rule, event: e, kind: 'fired' as const } : null;
    }
    if (last?.status !== 'firing') return null;
    const [e] = await tx
      .update(alertEvents)
      .set({ status: 'resolved', resolvedAt: now })
      .where(and(eq(alertEvents.id, last.id), eq(alertEvents.status, 'firing')))
      .returning();
    return e ? { rule, event: e, kind: 'resolved' as const } : null;
  });
  if (!result) return null;
  const { rule, event: e, kind } = result;
  // After the commit: a channel is told only about what was recorded, and never holds the lock.
  const notice: AlertNotice = {
    status: kind === 'fired' ? 'firing' : 'resolved',
    eventId: e.id,
    rule: { id: rule.id, name: rule.name },
    severity: e.severity,
    message: kind === 'fired' ? e.message : `cleared: ${e.message}`,
    pipeline: { id: pipe.id, name: pipe.name },
    jobId: e.jobId,
    firedAt: e.firedAt.toISOString(),
    resolvedAt: e.resolvedAt?.toISOString() ?? null,
  };
  deliverInBackground(p, rule.channels, notice);
  return { kind, eventId: e.id, ruleId: rule.id, pipelineId: pipe.id };
}

async function livePipelines(p: Platform, id?: string): Promise<Pipe[]> {
  return p.database.db
    .select({ id: pipelines.id, name: pipelines.name, createdAt: pipelines.createdAt })
    .from(pipelines)
    .where(and(isNull(pipelines.deletedAt), id ? eq(pipelines.id, id) : undefined));
}

async function enabledRules(p: Platform): Promise<AlertRule[]> {
  return (await p.database.db.select().from(alertRules).where(eq(alertRules.enabled, true))) as AlertRule[];
}

/**
 * Evaluates every enabled rule for every pipeline it watches (or for one pipeline): what the
 * periodic loop runs, and what tests call with the `now` they need.
 */
export async function evaluateAlerts(
  p: Platform,
  o: { now?: Date; pipelineId?: string } = {},
): Promise<Change[]> {
  const now = o.now ?? new Date();
  const rules = await enabledRules(p);
  if (rules.length === 0) return [];
  const pipes = await livePipelines(p, o.pipelineId);
  const changes: Change[] = [];
  for (const r of rules) {
    for (const pipe of pipes) {
      if (r.condition.pipelineId && r.condition.pipelineId !== pipe.id) continue;
      const c = await evaluateOne(p, r.id, pipe, now);
      if (c) changes.push(c);
    }
  }
  return changes;
}

/**
 * Called by the worker once a job's final status is recorded: evaluates the rules for its
 * pipeline. It never throws (an alert must not fail the job) and does not wait for channels.
 */
export async function evaluateJobAlerts(p: Platform, jobId: string, pipelineId?: string): Promise<Change[]> {
  try {
    if (pipelineId) return await evaluateAlerts(p, { pipelineId });
    const [j] = await p.database.db
      .select({ pipelineId: jobExecutions.pipelineId })
      .from(jobExecutions)
      .where(eq(jobExecutions.id, jobId));
    return j ? await evaluateAlerts(p, { pipelineId: j.pipelineId }) : [];
  } catch (err) {
    process.stderr.write(`sluice: evaluating alerts after job ${jobId} failed: ${(err as Error).message}\n`);
    return [];
  }
}

/**
 * Evaluates every rule every `everyMs` (freshness and failure rates change with time alone, not
 * only when a job ends); returns the function that stops it. Run it beside the scheduler.
 */
export function startAlerts(p: Platform, everyMs = alertOptions(p).everyMs): () => void {
  let busy = false;
  const t = setInterval(() => {
    if (busy) return;
    busy = true;
    evaluateAlerts(p)
      .catch((err: unknown) => {
        process.stderr.write(`sluice: evaluating alerts failed: ${(err as Error).message}\n`);
      })
      .finally(() => {
        busy = false;
      });
  }, everyMs);
  t.unref();
  return () => clearInterval(t);
}
