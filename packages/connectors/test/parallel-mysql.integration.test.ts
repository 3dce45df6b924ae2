import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvSource, mysqlSink } from '../src/index.ts';
import { byLine, cancelThenResume, figures, run, tinyChunks } from './parallel-harness.ts';

const URL = process.env.SLUICE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
// Each run of this file has its own tables (and checkpoint table) in the shared database.
const t = `hpar_${randomBytes(4).toString('hex')}`;
const TABLE =
  'id bigint primary key, name varchar(20), amount double, cents double, tag varbinary(16), note text';

let dir: string;
let admin: mysql.Connection;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-parallel-my-'));
  admin = await mysql.createConnection({ uri: URL });
  for (const x of ['serial', 'threads', 'loaded']) await admin.query(`CREATE TABLE ${t}_${x} (${TABLE})`);
});
afterAll(async () => {
  for (const x of ['serial', 'threads', 'loaded', 'ck']) await admin.query(`DROP TABLE IF EXISTS ${t}_${x}`);
  await admin.end();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Quoted newlines, tabs and backslashes (LOAD DATA escapes), CRLF, ragged rows (the source
 * quarantines them), a tag that is not base64 (the encoder quarantines it, in a worker), a name
 * too long for its column (only the writer applies the schema contract: the chunk goes to `write`).
 */
function input(rows: number): string {
  let s = '\uFEFFid,name,amount,tag,note\r\n';
  for (let i = 1; i <= rows; i++) {
    const name = i % 113 === 0 ? `a name far too long for twenty ${i}` : `name ${i} 🚚`;
    const tag = i % 151 === 0 ? 'not base64!' : Buffer.from([i & 255, (i >> 8) & 255]).toString('base64');
    const note = i % 5 === 0 ? 'two\r\nlines,\ttab \\ ""q""' : 'plain';
    if (i % 97 === 0) s += `${i},ragged\r\n`;
    else s += `${i},"${name}",${(i % 500) / 4},${tag},"${note}"\r\n`;
  }
  return s;
}

const sink = (table: string) => ({
  sink: 'mysql',
  with: { url: URL, table: `${t}_${table}`, checkpointTable: `${t}_ck`, schema: 'discard_row' },
});

const rows = async (table: string) => {
  const [r] = await admin.query(`SELECT * FROM ${t}_${table} ORDER BY id`);
  return r as Record<string, unknown>[];
};

describe('a flow into MariaDB in worker threads', { timeout: 120_000 }, () => {
  it('loads the same rows, with the same report and quarantine', async () => {
    // What makes the flow eligible for threads (nothing in the report says it took them).
    expect(mysqlSink.rowEncoder).toBeDefined();
    expect(mysqlSink.worker).toBe(csvSource.worker);
    const path = join(dir, 'in.csv');
    await writeFile(path, input(2500));
    const spec = (table: string) => ({
      name: `my-${table}`,
      checkpointEvery: 300,
      flow: [
        { source: 'csv', with: { path, schema: { id: 'integer', amount: 'number' } } },
        { transform: 'filter', with: { where: 'amount < 100.0' } },
        { transform: 'map', with: { set: { cents: 'amount * 100.0' } } },
        sink(table),
      ],
    });
    const serial = await run(spec('serial'), join(dir, 's'), false);
    const threaded = await run(spec('threads'), join(dir, 't'), tinyChunks(700));
    expect(serial.report.status, JSON.stringify(serial.report.error)).toBe('success');
    const rename = (x: unknown) => JSON.stringify(x).replaceAll('threads', 'serial');
    expect(rename(figures(threaded.report))).toBe(rename(figures(serial.report)));
    expect(rename(byLine(threaded.quarantine))).toBe(rename(byLine(serial.quarantine)));
    const reasons = serial.quarantine.map((q) => String(q.reason));
    expect(reasons.some((r) => r.includes('base64'))).toBe(true);
    expect(reasons.some((r) => r.includes('name'))).toBe(true);
    const want = await rows('serial');
    expect(want.length).toBeGreaterThan(1000);
    expect(want.find((r) => r.id === 5)?.note).toBe('two\r\nlines,\ttab \\ "q"');
    expect(await rows('threads')).toEqual(want);
  });

  it('resumes from its checkpoint in the table after a cancel, with no row twice or missing', async () => {
    const path = join(dir, 'resume.csv');
    await writeFile(path, input(4000));
    const spec = {
      name: 'my-resume',
      checkpointEvery: 200,
      flow: [{ source: 'csv', with: { path, schema: { id: 'integer', amount: 'number' } } }, sink('loaded')],
    };
    const resumed = await cancelThenResume(spec, join(dir, 'resume-state'), 1500);
    const [[r]] = (await admin.query(
      `SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${t}_loaded`,
    )) as unknown as [{ n: number; d: number }[]];
    const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    const good = ids(4000).filter((i) => i % 97 !== 0 && i % 151 !== 0 && i % 113 !== 0).length;
    expect({ n: Number(r!.n), d: Number(r!.d) }).toEqual({ n: good, d: good });
    expect(resumed.report.steps[0]!.rowsWritten).toBe(good);
  });
});
