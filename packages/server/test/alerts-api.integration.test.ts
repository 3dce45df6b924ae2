import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/api/app.ts';
import { alertRules, auditLog, jobExecutions } from '../src/db/schema.ts';
import { evaluateAlerts } from '../src/services/alerts.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { apiCaller, type TestPlatform, testPlatform, tokenFor } from './helpers/platform.ts';

let p: TestPlatform;
let app: App;
let viewerToken: string;
const api = apiCaller(
  () => app,
  () => p.adminToken,
);
const viewer = apiCaller(
  () => app,
  () => viewerToken,
);

beforeAll(async () => {
  p = await testPlatform('pglite');
  app = await buildApp(p, { rateLimit: 100_000 });
  viewerToken = await tokenFor(p, 'viewer');
}, 60_000);
afterAll(async () => {
  await app?.close();
  await p?.close();
});

const email = {
  type: 'email',
  to: ['ops@example.com'],
  host: 'smtp.example.com',
  user: 'alerts',
  password: 'pa55-w0rd-secret',
};

describe('the alerts API', () => {
  it('a bad rule answers 400 with the path of each mistake', async () => {
    const bad = async (body: unknown) => {
      const r = await api('POST', '/alerts/rules', body);
      expect(r.status, r.text).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
      return (r.body.error.details as { path: string }[]).map((d) => d.path);
    };
    expect(await bad({ name: 'x', condition: { type: 'consecutive_failures' } })).toEqual([
      'body.condition.count',
    ]);
    expect(
      await bad({
        name: 'x',
        condition: { type: 'failure_rate', percent: 150, windowMinutes: 10, extra: 1 },
      }),
    ).toEqual(expect.arrayContaining(['body.condition.percent', 'body.condition.extra']));
    expect(await bad({ name: 'x', condition: { type: 'nope' } })).toEqual(['body.condition.type']);
    expect(
      await bad({
        name: 'x',
        condition: { type: 'job_failed' },
        channels: [
          { type: 'slack', url: 'https://hooks.example.com/a' },
          { type: 'slack', url: 'ftp://x' },
        ],
      }),
    ).toEqual(['body.channels[1].url']);
    expect(
      await bad({ name: 'x', condition: { type: 'job_failed' }, channels: [{ type: 'email', host: 'h' }] }),
    ).toEqual(['body.channels[0].to']);
  });

  it('creates, shows (secrets masked), edits (a masked secret kept), lists and deletes rules, with audit rows', async () => {
    const created = await api('POST', '/alerts/rules', {
      name: 'slow loads',
      condition: { type: 'duration_above', seconds: 600 },
      severity: 'critical',
      channels: [email, { type: 'slack', url: 'https://hooks.example.com/services/T1/B2/secret' }],
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ name: 'slow loads', cooldownSeconds: 300, enabled: true });
    expect(created.body.channels[0].password).toBe('********');
    expect(created.body.channels[1].url).toBe('https://hooks.example.com/********');
    expect(created.text).not.toContain('pa55-w0rd-secret');
    const id = created.body.id as string;

    expect(
      (await api('POST', '/alerts/rules', { name: 'slow loads', condition: { type: 'job_failed' } })).status,
    ).toBe(409);

    // The UI sends back what it was shown: the stored secrets stay.
    const shown = (await viewer('GET', `/alerts/rules/${id}`)).body;
    const put = await api('PUT', `/alerts/rules/${id}`, { channels: shown.channels, cooldownSeconds: 60 });
    expect(put.status, put.text).toBe(200);
    const [row] = await p.database.db.select().from(alertRules).where(eq(alertRules.id, id));
    expect(row!.channels).toMatchObject([
      { password: 'pa55-w0rd-secret' },
      { url: 'https://hooks.example.com/services/T1/B2/secret' },
    ]);
    expect(row!.cooldownSeconds).toBe(60);

    const list = await viewer('GET', '/alerts/rules');
    expect(list.body).toMatchObject({ total: 1, limit: 50, offset: 0, items: [{ id }] });

    const audits = await p.database.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.resourceType, 'alert_rule'), eq(auditLog.resourceId, id)));
    expect(audits.map((a) => a.action).sort()).toEqual(['alert_rule.create', 'alert_rule.update']);
    expect(JSON.stringify(audits)).not.toContain('pa55-w0rd-secret');

    expect((await viewer('PUT', `/alerts/rules/${id}`, { enabled: false })).status).toBe(403);
    expect((await api('DELETE', `/alerts/rules/${id}`)).status).toBe(204);
    expect((await api('GET', `/alerts/rules/${id}`)).status).toBe(404);
  });

  it('lists the alert history newest first, filtered by status, rule and pipeline', async () => {
    const mk = async (name: string) =>
      (
        await createPipeline(
          p,
          { spec: { name, steps: [{ id: 't', task: 'shell', with: { command: ['true'] } }] } },
          'tester',
        )
      ).id;
    const [a, b] = [await mk('events-a'), await mk('events-b')];
    const rule = (
      await api('POST', '/alerts/rules', { name: 'any failure', condition: { type: 'job_failed' } })
    ).body;
    const now = new Date();
    for (const [pipe, status] of [
      [a, 'failed'],
      [b, 'failed'],
    ] as const)
      await p.database.db.insert(jobExecutions).values({
        pipelineId: pipe,
        pipelineVersion: 1,
        status,
        triggerType: 'manual',
        completedAt: now,
      });
    await evaluateAlerts(p, { now });
    await p.database.db.insert(jobExecutions).values({
      pipelineId: b,
      pipelineVersion: 1,
      status: 'success',
      triggerType: 'manual',
      completedAt: new Date(now.getTime() + 1000),
    });
    await evaluateAlerts(p, { now: new Date(now.getTime() + 1000) });

    const all = await viewer('GET', `/alerts/events?ruleId=${rule.id}`);
    expect(all.body.total).toBe(2);
    expect(all.body.items[0]).toMatchObject({ ruleName: 'any failure', severity: 'warning' });
    const firing = await viewer('GET', `/alerts/events?status=firing&ruleId=${rule.id}`);
    expect(firing.body.items).toMatchObject([{ pipelineId: a, pipelineName: 'events-a', status: 'firing' }]);
    const ofB = await viewer('GET', `/alerts/events?pipelineId=${b}`);
    expect(ofB.body.items).toMatchObject([{ status: 'resolved', resolvedAt: expect.any(String) }]);
    expect((await viewer('GET', '/alerts/events?status=open')).status).toBe(400);
  });
});
