import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/migrate.ts';
import { type Database, openDatabase } from '../src/db/open.ts';
import { jobExecutions, pipelines } from '../src/db/schema.ts';
import { createQueue, enqueueInTransaction, JOBS_QUEUE } from '../src/queue/boss.ts';
import { backends } from './helpers/backends.ts';

describe.each(backends)('database on $name', (backend) => {
  let env: Awaited<ReturnType<typeof backend.open>>;
  let database: Database;
  beforeAll(async () => {
    env = await backend.open();
    database = env.database;
  });
  afterAll(async () => {
    await env.dispose();
  });

  it('applies migrations once; a second run is a no-op', async () => {
    await migrate(database);
    const rows = await database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'job_executions'`,
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('lets a deleted pipeline name be taken again, and no live duplicate', async () => {
    const [a] = await database.db.insert(pipelines).values({ name: 'orders' }).returning();
    await expect(database.db.insert(pipelines).values({ name: 'orders' })).rejects.toThrow();
    await database.db.update(pipelines).set({ deletedAt: new Date() }).where(eq(pipelines.id, a!.id));
    await database.db.insert(pipelines).values({ name: 'orders' });
  });

  it('commits a job row and its queue message together, or neither', async () => {
    const boss = await createQueue(database);
    try {
      const [p] = await database.db
        .insert(pipelines)
        .values({ name: `q-${backend.name}` })
        .returning();
      const job = { pipelineId: p!.id, pipelineVersion: 1, triggerType: 'manual' as const };
      await expect(
        database.db.transaction(async (tx) => {
          const [j] = await tx.insert(jobExecutions).values(job).returning();
          await enqueueInTransaction(boss, tx, j!);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await database.db.select().from(jobExecutions)).toEqual([]);
      expect((await boss.getQueueStats(JOBS_QUEUE))[0]?.queuedCount ?? 0).toBe(0);

      const id = await database.db.transaction(async (tx) => {
        const [j] = await tx.insert(jobExecutions).values(job).returning();
        await enqueueInTransaction(boss, tx, j!);
        return j!.id;
      });
      const got = await boss.fetch<{ jobId: string }>(JOBS_QUEUE);
      expect(got.map((m) => m.data.jobId)).toEqual([id]);
    } finally {
      await boss.stop({ graceful: false });
    }
  });
});

describe('embedded data directory', () => {
  it('refuses a second process on the same directory, and frees it on close', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-lock-'));
    const first = await openDatabase({ dataDir });
    const err = await openDatabase({ dataDir }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      new RegExp(
        `the data directory ${dataDir} is in use by process ${process.pid} on .*; stop that process`,
      ),
    );
    await first.close();
    const again = await openDatabase({ dataDir });
    await again.close();
  });
});
