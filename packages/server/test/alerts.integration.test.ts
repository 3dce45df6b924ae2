import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertEvents, jobExecutions, stepExecutions } from '../src/db/schema.ts';
import { type Condition, createRule, updateRule } from '../src/services/alert-rules.ts';
import { evaluateAlerts, startAlerts } from '../src/services/alerts.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { backends } from './helpers/backends.ts';
import { type TestPlatform, testPlatform } from './helpers/platform.ts';

// Every condition against job rows written straight into the table, at times the test chooses:
// evaluation is a function of the table and `now`, so no worker or clock is needed here.
const S = 1000;

describe.each(backends)('alert rules on $name', ({ name }) => {
  let p: TestPlatform;
  let n = 0;
  beforeAll(async () => {
    p = await testPlatform(name);
  }, 60_000);
  afterAll(async () => {
    await p?.close();
  });

  const newPipeline = async () =>
    (
      await createPipeline(
        p,
        { spec: { name: `p${++n}`, steps: [{ id: 't', task: 'shell', with: { command: ['true'] } }] } },
        'tester',
      )
    ).id;

  const job = async (
    pipelineId: string,
    at: Date,
    status: 'success' | 'failed' | 'timeout' | 'running',
    o: { durationMs?: number; read?: number; quarantined?: number } = {},
  ) => {
    const [j] = await p.database.db
      .insert(jobExecutions)
      .values({
        pipelineId,
        pipelineVersion: 1,
        status,
        triggerType: 'manual',
        startedAt: new Date(at.getTime() - (o.durationMs ?? 1000)),
        completedAt: status === 'running' ? null : at,
        durationMs: status === 'running' ? null : (o.durationMs ?? 1000),
        ...(status === 'failed' ? { error: { code: 'TASK_FAILED', message: 'exit code 3' } } : {}),
      })
      .returning();
    if (o.read !== undefined)
      await p.database.db.insert(stepExecutions).values({
        jobId: j!.id,
        stepId: 't',
        kind: 'flow',
        status: 'success',
        rowsRead: o.read,
        rowsQuarantined: o.quarantined ?? 0,
      });
    return j!.id;
  };

  const events = (ruleId: string, pipelineId: string) =>
    p.database.db
      .select()
      .from(alertEvents)
      .where(and(eq(alertEvents.ruleId, ruleId), eq(alertEvents.pipelineId, pipelineId)))
      .orderBy(alertEvents.firedAt);

  const plus = (t: Date, ms: number) => new Date(t.getTime() + ms);

  // Each case: the condition (pipelineId added), how to make it hold and clear at a time, the
  // message it must say, and how long after clearing it holds again (freshness needs its window).
  const cases: {
    condition: { type: Condition['type'] } & Record<string, unknown>;
    fire: (pipe: string, t: Date) => Promise<unknown>;
    clear: (pipe: string, t: Date) => Promise<unknown>;
    message: RegExp;
    gap?: number;
  }[] = [
    {
      condition: { type: 'job_failed' },
      fire: (pipe, t) => job(pipe, t, 'failed'),
      clear: (pipe, t) => job(pipe, t, 'success'),
      message: /job \S+ failed: exit code 3/,
    },
    {
      condition: { type: 'consecutive_failures', count: 3 },
      fire: async (pipe, t) => {
        for (let i = 0; i < 3; i++) await job(pipe, plus(t, i - 3), 'failed');
      },
      clear: (pipe, t) => job(pipe, t, 'success'),
      message: /the last 3 runs failed/,
    },
    {
      condition: { type: 'duration_above', seconds: 60 },
      fire: (pipe, t) => job(pipe, t, 'success', { durationMs: 90 * S }),
      clear: (pipe, t) => job(pipe, t, 'success', { durationMs: 10 * S }),
      message: /took 90 s, over the 60 s limit/,
    },
    {
      condition: { type: 'failure_rate', percent: 50, windowMinutes: 30, minRuns: 2 },
      fire: async (pipe, t) => {
        await job(pipe, plus(t, -1), 'failed');
        await job(pipe, t, 'timeout');
      },
      clear: async (pipe, t) => {
        for (let i = 0; i < 3; i++) await job(pipe, plus(t, -i), 'success');
      },
      message: /2 of 2 runs in the last 30 min failed \(100%, at or over 50%\)/,
    },
    {
      condition: { type: 'quarantine_rate', percent: 10 },
      fire: (pipe, t) => job(pipe, t, 'success', { read: 200, quarantined: 30 }),
      clear: (pipe, t) => job(pipe, t, 'success', { read: 200, quarantined: 1 }),
      message: /quarantined 30 of 200 rows read \(15%, at or over 10%\)/,
    },
    {
      condition: { type: 'stream_stale', minutes: 5 },
      // A running stream whose last checkpoint is 10 minutes old with messages waiting; cleared by
      // a checkpoint of now.
      fire: async (pipe, t) => {
        const j = await job(pipe, t, 'running');
        await p.database.db.insert(stepExecutions).values({
          jobId: j,
          stepId: 'main',
          kind: 'flow',
          status: 'running',
          streaming: true,
          startedAt: new Date(t.getTime() - 3600 * S),
          checkpointedAt: new Date(t.getTime() - 600 * S),
          lag: 40,
        });
      },
      clear: (pipe, t) =>
        p.database.db
          .update(stepExecutions)
          .set({ checkpointedAt: t })
          .where(
            and(
              eq(stepExecutions.streaming, true),
              inArray(
                stepExecutions.jobId,
                p.database.db
                  .select({ id: jobExecutions.id })
                  .from(jobExecutions)
                  .where(eq(jobExecutions.pipelineId, pipe)),
              ),
            ),
          ),
      message: /step "main" last checkpointed 10 min ago with 40 messages waiting; the window is 5 min/,
    },
    {
      condition: { type: 'freshness', windowMinutes: 1 },
      fire: async () => undefined, // time passing is enough
      clear: (pipe, t) => job(pipe, t, 'success'),
      message: /no successful run since it was created/,
      gap: 61 * S,
    },
  ];

  it.each(cases)(
    '$condition.type fires once, resolves when it clears, and honours the cooldown',
    async (c) => {
      const pipe = await newPipeline();
      const rule = await createRule(p, {
        name: `${c.condition.type} ${name} ${pipe}`,
        condition: { ...c.condition, pipelineId: pipe } as Condition,
        severity: 'critical',
        cooldownSeconds: 300,
      });
      const t0 = plus(new Date(), 2 * 60 * S); // past the freshness window of a new pipeline
      const at = (ms: number) => evaluateAlerts(p, { now: plus(t0, ms), pipelineId: pipe });

      expect(await at(-90 * S), 'nothing holds yet').toEqual([]);
      await c.fire(pipe, t0);
      expect(await at(0)).toMatchObject([{ kind: 'fired', ruleId: rule.id, pipelineId: pipe }]);
      expect(await at(1 * S), 'still firing: no second event').toEqual([]);
      let [e] = await events(rule.id, pipe);
      expect(e).toMatchObject({ status: 'firing', severity: 'critical', resolvedAt: null });
      expect(e!.message).toMatch(c.message);
      expect(e!.message).toContain(`pipeline "p`);

      await c.clear(pipe, plus(t0, 2 * S));
      expect(await at(2 * S)).toMatchObject([{ kind: 'resolved', eventId: e!.id }]);
      [e] = await events(rule.id, pipe);
      expect(e).toMatchObject({ status: 'resolved', resolvedAt: plus(t0, 2 * S) });

      // Holds again 3 s (or the freshness window) later: within the 300 s cooldown, no event.
      const again = 3 * S + (c.gap ?? 0);
      await c.fire(pipe, plus(t0, again));
      expect(await at(again), 'inside the cooldown').toEqual([]);
      expect(await events(rule.id, pipe)).toHaveLength(1);
      // Past the cooldown the condition still holds: a new event.
      expect(await at(301 * S)).toMatchObject([{ kind: 'fired' }]);
      expect((await events(rule.id, pipe)).map((x) => x.status)).toEqual(['resolved', 'firing']);
    },
  );

  it('a rule without a pipeline watches each pipeline on its own', async () => {
    const [a, b] = [await newPipeline(), await newPipeline()];
    const rule = await createRule(p, { name: `any ${name}`, condition: { type: 'job_failed' } });
    const now = new Date();
    await job(a, now, 'failed');
    await job(b, now, 'success');
    // Pipelines of the other tests are watched too: look at these two only.
    const mine = (cs: { ruleId: string; pipelineId: string }[]) =>
      cs.filter((c) => c.ruleId === rule.id && [a, b].includes(c.pipelineId));
    const changes = mine(await evaluateAlerts(p, { now }));
    expect(changes).toMatchObject([{ kind: 'fired', pipelineId: a }]);
    await job(b, plus(now, S), 'failed');
    expect(await evaluateAlerts(p, { now: plus(now, 2 * S), pipelineId: b })).toMatchObject([
      { kind: 'fired', pipelineId: b },
    ]);
    await updateRule(p, rule.id, { enabled: false });
    expect((await events(rule.id, a))[0]!.status, 'disabling resolves its open alerts').toBe('resolved');
    expect(mine(await evaluateAlerts(p, { now: plus(now, 400 * S) }))).toEqual([]);
  });

  it('a job running past the limit fires duration_above before it ends; cancelled runs count for nothing', async () => {
    const pipe = await newPipeline();
    const rule = await createRule(p, {
      name: `long ${name}`,
      condition: { type: 'duration_above', seconds: 60, pipelineId: pipe },
    });
    const now = new Date();
    await job(pipe, plus(now, -120 * S), 'running', { durationMs: 0 });
    const [c] = await evaluateAlerts(p, { now, pipelineId: pipe });
    expect(c).toMatchObject({ kind: 'fired', ruleId: rule.id });
    expect((await events(rule.id, pipe))[0]!.message).toMatch(
      /has been running for 2 min, over the 60 s limit/,
    );
  });

  it('startAlerts evaluates on its own, every interval, until stopped', async () => {
    const pipe = await newPipeline();
    const rule = await createRule(p, {
      name: `loop ${name}`,
      condition: { type: 'job_failed', pipelineId: pipe },
    });
    await job(pipe, new Date(), 'failed');
    const stop = startAlerts(p, 50);
    try {
      const end = Date.now() + 5000;
      while ((await events(rule.id, pipe)).length === 0 && Date.now() < end)
        await new Promise((r) => setTimeout(r, 50));
    } finally {
      stop();
    }
    expect(await events(rule.id, pipe)).toMatchObject([{ status: 'firing' }]);
  });

  it('processes evaluating at once record one event', async () => {
    const pipe = await newPipeline();
    const rule = await createRule(p, {
      name: `race ${name}`,
      condition: { type: 'job_failed', pipelineId: pipe },
    });
    const now = new Date();
    await job(pipe, now, 'failed');
    const all = await Promise.all(
      Array.from({ length: 6 }, () => evaluateAlerts(p, { now, pipelineId: pipe })),
    );
    expect(all.flat()).toHaveLength(1);
    expect(await events(rule.id, pipe)).toHaveLength(1);
  });
});
