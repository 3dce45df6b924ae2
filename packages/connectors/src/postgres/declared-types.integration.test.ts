import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipeline } from '@sluice/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../registry.ts';

const URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `t_decl_${randomBytes(4).toString('hex')}`;

describe('createTable with the types the spec declares', () => {
  beforeAll(async () => {
    const c = new pg.Client(URL);
    await c.connect();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.end();
  });
  afterAll(async () => {
    const c = new pg.Client(URL);
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  });

  it('takes the source schema and the casts over the types values would suggest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-decl-'));
    // Every value is text a date, a number or a timestamp could be: inferred, each would be text.
    writeFileSync(join(dir, 'in.csv'), 'id,day,amount,at,note\n1,2026-01-02,3,2026-01-02T03:04:05Z,x\n');
    const registry = createRegistry();
    const spec = {
      name: 'declared',
      flow: [
        {
          source: 'csv',
          with: {
            path: 'in.csv',
            columns: ['id', 'day', 'amount', 'at', 'note'],
            schema: { id: 'integer', day: 'date' },
          },
        },
        { transform: 'cast', with: { fields: { amount: 'number', at: 'timestamp' } } },
        { sink: 'postgres', with: { url: URL, dbSchema: schema, table: 'out', createTable: true } },
      ],
    };
    const report = await runPipeline(spec, { registry, baseDir: dir, stateDir: join(dir, 'state') });
    expect(report.steps[0]?.error).toBeUndefined();
    expect(report.status).toBe('success');
    const c = new pg.Client(URL);
    await c.connect();
    try {
      const { rows } = await c.query(
        `SELECT column_name, data_type FROM information_schema.columns
          WHERE table_schema = $1 AND table_name = 'out' ORDER BY ordinal_position`,
        [schema],
      );
      expect(rows).toEqual([
        { column_name: 'id', data_type: 'bigint' },
        { column_name: 'day', data_type: 'date' },
        { column_name: 'amount', data_type: 'double precision' },
        { column_name: 'at', data_type: 'timestamp with time zone' },
        { column_name: 'note', data_type: 'text' },
      ]);
      const back = await c.query(`SELECT day::text, at FROM ${schema}.out`);
      expect(back.rows[0].day).toBe('2026-01-02');
      expect((back.rows[0].at as Date).toISOString()).toBe('2026-01-02T03:04:05.000Z');
    } finally {
      await c.end();
    }
  });
});
