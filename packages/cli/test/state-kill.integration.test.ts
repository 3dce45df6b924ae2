import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedSeq, SLUICE_BIN, sluice, TEST_DATABASE_URL } from './helpers.ts';

// Issue 14 §1: kill -9 an incremental run mid-way, then run again: no gap, no duplicate. The
// rule (docs/pipeline-spec.md, "State kept between runs"): a new run starts from the cursor of the
// last successful run; `upsert` overwrites what the killed run committed, `append` is refused
// until the killed run is resumed.

const ROWS = 300_000;
const schema = `t_statekill_${process.pid}_${Date.now() % 100000}`;
const client = new pg.Client({ connectionString: TEST_DATABASE_URL });

describe('an incremental run killed with SIGKILL', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-state-kill-'));
  const specFor = (mode: 'append' | 'upsert') => {
    const path = join(dir, `${mode}.yaml`);
    writeFileSync(
      path,
      `name: kill-${mode}
checkpointEvery: 10000
flow:
  - source: postgres
    with: { url: "${TEST_DATABASE_URL}", dbSchema: ${schema}, table: src, batchSize: 5000, incremental: { column: id } }
  - sink: postgres
    with: { url: "${TEST_DATABASE_URL}", dbSchema: ${schema}, checkpointSchema: ${schema}, table: ${mode}_dst, createTable: true, mode: ${mode}${mode === 'upsert' ? ', key: [id]' : ''} }
`,
    );
    return path;
  };

  beforeAll(async () => {
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`CREATE TABLE ${schema}.src (id integer PRIMARY KEY, note text)`);
    await insert(1, 10);
  });

  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  async function insert(from: number, to: number) {
    await client.query(
      `INSERT INTO ${schema}.src SELECT i, repeat('x', 40) FROM generate_series(${from}, ${to}) AS i`,
    );
  }
  async function run(spec: string, ...more: string[]) {
    const r = await sluice(['run', spec, '--json', ...more], { cwd: dir });
    return { ...r, report: r.stdout ? JSON.parse(r.stdout) : undefined };
  }
  /** Starts a run and kills it with SIGKILL once a few of its checkpoints are committed. */
  async function killMidway(spec: string) {
    const child = spawn(process.execPath, [SLUICE_BIN, 'run', spec, '--json'], { cwd: dir, stdio: 'ignore' });
    const exited = once(child, 'exit');
    const deadline = Date.now() + 60_000;
    while ((await committedSeq(client, schema)) < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    expect((await exited)[1]).toBe('SIGKILL');
  }
  const counts = async (table: string) =>
    (
      await client.query(
        `SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, max(id)::int AS hi FROM ${schema}.${table}`,
      )
    ).rows[0];

  it('append: a new run is refused until the killed one is resumed; then each row once', async () => {
    const spec = specFor('append');
    expect((await run(spec)).report.steps[0].rowsRead).toBe(10);
    await insert(11, 10 + ROWS);
    await killMidway(spec);
    const partial = await counts('append_dst');
    expect(partial.n).toBeGreaterThan(10);
    expect(partial.n).toBeLessThan(10 + ROWS);

    const refused = await run(spec);
    expect(refused.code).toBe(1);
    expect(refused.report.error.code).toBe('CHECKPOINT_INVALID');
    expect(await counts('append_dst')).toEqual(partial);

    const resumed = await run(spec, '--resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await counts('append_dst')).toEqual({ n: 10 + ROWS, d: 10 + ROWS, hi: 10 + ROWS });
    await insert(20 + ROWS, 24 + ROWS);
    expect((await run(spec)).report.steps[0].rowsRead).toBe(5);
    expect(await counts('append_dst')).toEqual({ n: 15 + ROWS, d: 15 + ROWS, hi: 24 + ROWS });
    await client.query(`TRUNCATE ${schema}.src`);
    await insert(1, 10);
  });

  it('upsert: a new run after the kill starts from the last saved cursor; no gap, no duplicate', async () => {
    const spec = specFor('upsert');
    expect((await run(spec)).report.steps[0].rowsRead).toBe(10);
    await insert(11, 10 + ROWS);
    await killMidway(spec);
    const fresh = await run(spec);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.report.steps[0].rowsRead).toBe(ROWS);
    expect(await counts('upsert_dst')).toEqual({ n: 10 + ROWS, d: 10 + ROWS, hi: 10 + ROWS });
    const shown = await sluice(['state', 'show', spec, '--json'], { cwd: dir });
    expect(JSON.parse(shown.stdout).steps).toEqual({ main: { cursor: 10 + ROWS } });
  });
});
