import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jobExecutions, stepExecutions } from '../src/db/schema.ts';
import { createPipeline } from '../src/services/pipelines.ts';
import { applyRetention } from '../src/services/retention.ts';
import { type TestPlatform, testPlatform } from './helpers/platform.ts';

let p: TestPlatform;
beforeAll(async () => {
  p = await testPlatform('pglite');
});
afterAll(async () => {
  await p?.close();
});

const DAY = 86_400_000;

it('deletes exactly the finished jobs older than the limit, with their files', async () => {
  const pipeline = await createPipeline(
    p,
    { spec: { name: 'kept', steps: [{ id: 's', task: 'shell', with: { command: ['true'] } }] } },
    null,
  );
  const now = new Date('2026-06-30T12:00:00Z');
  const job = async (status: 'success' | 'failed' | 'running', completedDaysAgo: number | null) => {
    const [j] = await p.database.db
      .insert(jobExecutions)
      .values({
        pipelineId: pipeline.id,
        pipelineVersion: 1,
        status,
        triggerType: 'manual',
        createdAt: new Date(now.getTime() - 60 * DAY),
        completedAt: completedDaysAgo === null ? null : new Date(now.getTime() - completedDaysAgo * DAY),
      })
      .returning();
    await p.database.db.insert(stepExecutions).values({ jobId: j!.id, stepId: 's', kind: 'task' });
    await p.store.write(`jobs/${j!.id}/log.ndjson`, '{}\n');
    mkdirSync(join(p.dataDir, 'work', j!.id), { recursive: true });
    writeFileSync(join(p.dataDir, 'work', j!.id, 'run.json'), '{}');
    return j!.id;
  };
  const oldSuccess = await job('success', 31);
  const oldFailure = await job('failed', 45);
  const recent = await job('success', 29);
  const running = await job('running', null);

  const r = await applyRetention(p, 30, now);
  expect(r).toEqual({ jobs: 2, cutoff: '2026-05-31T12:00:00.000Z' });
  const left = (await p.database.db.select({ id: jobExecutions.id }).from(jobExecutions))
    .map((j) => j.id)
    .sort();
  expect(left).toEqual([recent, running].sort());
  for (const gone of [oldSuccess, oldFailure]) {
    expect(await p.database.db.select().from(stepExecutions).where(eq(stepExecutions.jobId, gone))).toEqual(
      [],
    );
    expect(await p.store.size(`jobs/${gone}/log.ndjson`)).toBeUndefined();
    expect(existsSync(join(p.dataDir, 'work', gone))).toBe(false);
  }
  for (const kept of [recent, running]) {
    expect(await p.store.size(`jobs/${kept}/log.ndjson`)).toBe(3);
    expect(existsSync(join(p.dataDir, 'work', kept, 'run.json'))).toBe(true);
  }
  expect(await applyRetention(p, 30, now)).toMatchObject({ jobs: 0 });
});
