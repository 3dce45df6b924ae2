import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byLine, cancelThenResume, figures, run, tinyChunks } from './parallel-harness.ts';
import { freshSchemaPerTest, TEST_DATABASE_URL } from './pg-schema.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-parallel-pg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Quoted newlines, CRLF, a NUL PostgreSQL refuses, ragged rows. */
function input(rows: number): string {
  let s = '\uFEFFid,name,amount,note\r\n';
  for (let i = 1; i <= rows; i++) {
    if (i % 97 === 0) s += `${i},ragged\r\n`;
    else if (i % 151 === 0) s += `${i},nul,1.5,"has \0 inside"\r\n`;
    else s += `${i},"name ${i} 🚚",${(i % 500) / 4},"${i % 5 === 0 ? 'two\r\nlines, ""q""' : 'plain'}"\r\n`;
  }
  return s;
}

describe('a flow into PostgreSQL in worker threads', { timeout: 120_000 }, () => {
  const db = freshSchemaPerTest();

  it('copies the same rows, in the same order, with the same report and quarantine', async () => {
    const path = join(dir, 'in.csv');
    await writeFile(path, input(2500));
    const spec = (table: string) => ({
      name: `pg-${table}`,
      checkpointEvery: 300,
      flow: [
        { source: 'csv', with: { path, schema: { id: 'integer', amount: 'number' } } },
        { transform: 'filter', with: { where: 'amount < 100.0' } },
        { transform: 'map', with: { set: { cents: 'amount * 100.0', name: 'name.upperAscii()' } } },
        { sink: 'postgres', with: { url: TEST_DATABASE_URL, dbSchema: db.schema, table, createTable: true } },
      ],
    });
    const serial = await run(spec('serial'), join(dir, 's'), false);
    const threaded = await run(spec('threads'), join(dir, 't'), tinyChunks(700));
    expect(serial.report.status, JSON.stringify(serial.report.error)).toBe('success');
    const rename = (f: ReturnType<typeof figures>) => JSON.stringify(f).replaceAll('threads', 'serial');
    expect(rename(figures(threaded.report))).toBe(rename(figures(serial.report)));
    expect(
      byLine(threaded.quarantine).map((q) => ({
        ...q,
        reason: String(q.reason).replace('threads', 'serial'),
      })),
    ).toEqual(byLine(serial.quarantine));
    expect(serial.quarantine.some((q) => String(q.reason).includes('NUL'))).toBe(true);
    // A fresh table's physical order is the order rows were copied in.
    const rows = async (t: string) =>
      (await db.admin.query(`SELECT * FROM ${db.schema}.${t} ORDER BY ctid`)).rows as unknown[];
    const want = await rows('serial');
    expect(want.length).toBeGreaterThan(1000);
    expect(await rows('threads')).toEqual(want);
    // Issue 14: checkpoints live in Sluice's own schema, not the target's, and go once the run succeeded.
    const left = await db.admin.query('SELECT key FROM sluice.checkpoints WHERE key LIKE $1', [
      `%${db.schema}.%`,
    ]);
    expect(left.rows).toEqual([]);
    const stray = await db.admin.query(`SELECT to_regclass('${db.schema}.sluice_checkpoints') AS t`);
    expect(stray.rows[0].t).toBeNull();
  });

  it('resumes from its checkpoint in the table after a cancel, with no row twice or missing', async () => {
    const path = join(dir, 'resume.csv');
    await writeFile(path, input(4000));
    const spec = {
      name: 'pg-resume',
      checkpointEvery: 200,
      flow: [
        { source: 'csv', with: { path, schema: { id: 'integer', amount: 'number' } } },
        {
          sink: 'postgres',
          with: { url: TEST_DATABASE_URL, dbSchema: db.schema, table: 'loaded', createTable: true },
        },
      ],
    };
    const resumed = await cancelThenResume(spec, join(dir, 'resume-state'), 1500);
    const r = await db.admin.query(
      `SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM ${db.schema}.loaded`,
    );
    const good = resumed.report.steps[0]!.rowsWritten;
    expect(r.rows[0]).toEqual({ n: good, d: good });
    expect(good).toBe(4000 - Math.floor(4000 / 97) - Math.floor(4000 / 151) + Math.floor(4000 / (97 * 151)));
  });
});
