import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedSeq, SLUICE_BIN, sluice, TEST_DATABASE_URL } from './helpers.ts';

const ROWS = 600_000;
const schema = `t_resume_${process.pid}_${Date.now() % 100000}`;
const client = new pg.Client({ connectionString: TEST_DATABASE_URL });

async function writeCsv(path: string): Promise<void> {
  const out = createWriteStream(path);
  out.write('id,name,amount,note\n');
  for (let i = 1; i <= ROWS; i += 1000) {
    let chunk = '';
    for (let j = i; j < i + 1000 && j <= ROWS; j++) {
      chunk += `${j},name ${j},${(j % 997) / 10},"note, with ""quotes"" ${j}"\n`;
    }
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

describe('sluice run --resume after kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-resume-'));
  const spec = join(dir, 'load.yaml');

  beforeAll(async () => {
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await writeCsv(join(dir, 'rows.csv'));
    writeFileSync(
      spec,
      `name: resume-test
checkpointEvery: 20000
flow:
  - source: csv
    with: { path: rows.csv, schema: { id: integer, amount: number } }
  - transform: map
    with: { set: { cents: "amount * 100" } }
  - sink: postgres
    with: { url: "${TEST_DATABASE_URL}", dbSchema: ${schema}, checkpointSchema: ${schema}, table: loaded, createTable: true }
`,
    );
  });

  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it('loads every row exactly once', async () => {
    const child = spawn(
      process.execPath,
      // Two threads whatever the machine: the kill lands in the parallel path (main thread + a worker).
      [SLUICE_BIN, 'run', spec, '--json', '--threads', '2', '--state-dir', join(dir, 'state')],
      {
        stdio: 'ignore',
      },
    );
    const exited = once(child, 'exit');
    // Kill it once a few checkpoints are committed, well before the end.
    const deadline = Date.now() + 60_000;
    while ((await committedSeq(client, schema)) < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    const partial = await client.query(`SELECT count(*)::int AS n FROM ${schema}.loaded`);
    expect(partial.rows[0].n).toBeGreaterThan(0);
    expect(partial.rows[0].n).toBeLessThan(ROWS);

    const r = await sluice([
      'run',
      spec,
      '--json',
      '--resume',
      '--threads',
      '2',
      '--state-dir',
      join(dir, 'state'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.steps[0].resumedFromRow).toBeGreaterThan(0);
    expect(report.steps[0]).toMatchObject({ rowsRead: ROWS, rowsWritten: ROWS, rowsQuarantined: 0 });
    expect(report.integrity.ok).toBe(true);
    const full = await client.query(
      `SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, min(id)::int AS lo, max(id)::int AS hi FROM ${schema}.loaded`,
    );
    expect(full.rows[0]).toEqual({ n: ROWS, d: ROWS, lo: 1, hi: ROWS });
  });
});
