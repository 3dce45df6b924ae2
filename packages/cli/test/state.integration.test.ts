import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sluice, TEST_DATABASE_URL } from './helpers.ts';

// Issue 14 §1: `sluice run` keeps an incremental cursor between runs; `sluice state` shows and resets it.

const schema = `t_state_${process.pid}_${Date.now() % 100000}`;
const client = new pg.Client({ connectionString: TEST_DATABASE_URL });

describe('sluice state', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-state-cli-'));
  const spec = join(dir, 'incr.yaml');

  beforeAll(async () => {
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`CREATE TABLE ${schema}.src (id integer PRIMARY KEY)`);
    writeFileSync(
      spec,
      `name: incr-cli
flow:
  - source: postgres
    with: { url: "${TEST_DATABASE_URL}", dbSchema: ${schema}, table: src, incremental: { column: id } }
  - sink: postgres
    with: { url: "${TEST_DATABASE_URL}", dbSchema: ${schema}, checkpointSchema: ${schema}, table: dst, createTable: true, mode: upsert, key: [id] }
`,
    );
  });

  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  const insert = (from: number, to: number) =>
    client.query(`INSERT INTO ${schema}.src SELECT generate_series(${from}, ${to})`);
  const rowsRead = async () => {
    const r = await sluice(['run', spec, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { steps: { rowsRead: number }[] }).steps[0]!.rowsRead;
  };

  it('reads only new rows on the next run, shows the cursor and resets it', async () => {
    const empty = await sluice(['state', 'show', spec], { cwd: dir });
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/no state kept for pipeline "incr-cli"/);

    await insert(1, 7);
    expect(await rowsRead()).toBe(7);
    await insert(8, 9);
    expect(await rowsRead()).toBe(2);

    const shown = await sluice(['state', 'show', spec, '--json'], { cwd: dir });
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual({ pipeline: 'incr-cli', steps: { main: { cursor: 9 } } });
    const text = await sluice(['state', 'show', spec], { cwd: dir });
    expect(text.stdout).toMatch(/main\n {2}cursor: 9/);

    const wrong = await sluice(['state', 'reset', spec, '--step', 'nope'], { cwd: dir });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/no step "nope" in pipeline "incr-cli" \(its steps: main\)/);

    const reset = await sluice(['state', 'reset', spec, '--step', 'main'], { cwd: dir });
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(/reset the state of "main"/);
    expect(await rowsRead()).toBe(9);
    const count = await client.query(`SELECT count(*)::int AS n FROM ${schema}.dst`);
    expect(count.rows[0].n).toBe(9);
  });
});
