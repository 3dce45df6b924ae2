import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

describe('embedded database memory (issue 21)', () => {
  it('is created in a process of its own, keeps its rows, and starts with 16 MB of shared buffers (4 MB of WAL buffers)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-initdb-'));
    const first = await openDatabase({ dataDir });
    try {
      // initdb ran apart: this process never held a second PGlite, so none is left to collect.
      expect(await first.query<{ shared_buffers: string }>('SHOW shared_buffers')).toEqual([
        { shared_buffers: '16MB' },
      ]);
      expect(await first.query<{ wal_buffers: string }>('SHOW wal_buffers')).toEqual([
        { wal_buffers: '4MB' },
      ]);
      await first.query('CREATE TABLE kept (n int)');
      await first.query('INSERT INTO kept VALUES (1), (2)');
    } finally {
      await first.close();
    }
    const again = await openDatabase({ dataDir });
    try {
      expect(await again.query<{ n: number }>('SELECT count(*)::int AS n FROM kept')).toEqual([{ n: 2 }]);
      expect(await again.query<{ shared_buffers: string }>('SHOW shared_buffers')).toEqual([
        { shared_buffers: '16MB' },
      ]);
    } finally {
      await again.close();
    }
  });

  it('says which directory it could not create the database in', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-initdb-'));
    // A file where the database directory should be: initdb cannot make it.
    writeFileSync(join(dataDir, 'db'), 'not a directory');
    await expect(openDatabase({ dataDir })).rejects.toThrow(
      `could not create the embedded database in ${join(dataDir, 'db')}`,
    );
    // The lock is released: the directory can be opened once the file is gone.
    rmSync(join(dataDir, 'db'));
    const db = await openDatabase({ dataDir });
    await db.close();
  });
});
