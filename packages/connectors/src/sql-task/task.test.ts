import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigError, planPipeline, runPipeline } from '@sluice/core';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { expectRejectedAt } from '../../test/conformance-checks.ts';
import { createRegistry } from '../registry.ts';
import { sqlTask } from './task.ts';
import { runSql, sqlTaskCases } from './task-cases.ts';

const dir = mkdtempSync(join(tmpdir(), 'h-sqlite-sqltask-'));
const file = join(dir, 'task.db');
let n = 0;

sqlTaskCases('SQLite', {
  url: () => `sqlite://${file}`,
  table: () => `h_sqlite_t${++n}`,
  async rows(table) {
    const db = new Database(file, { readonly: true });
    try {
      return (
        (db.prepare(`SELECT id, name FROM ${table} ORDER BY id`).raw().all() as [number, string][]) ?? []
      );
    } catch {
      return undefined;
    } finally {
      db.close();
    }
  },
});

const spec = (sql: string, params: Record<string, unknown> = { v: { type: 'string' } }) => ({
  name: `h-sqlite-sql-${++n}`,
  parameters: params,
  steps: [{ id: 'load', task: 'sql', with: { url: 'sqlite:app.db', sql } }],
});

describe('sql task in a pipeline', () => {
  it('gets its sql uninterpolated: a parameter is bound, never spliced into the statement', async () => {
    const d = mkdtempSync(join(dir, 'run-'));
    const evil = "1'); DROP TABLE t; --";
    const doc = spec(
      "CREATE TABLE t (v TEXT); INSERT INTO t VALUES (${params.v}); SELECT 'literal $${params.v}'",
    );
    writeFileSync(join(d, 'p.yaml'), '');
    const report = await runPipeline(doc, {
      registry: createRegistry(),
      baseDir: d,
      stateDir: join(d, 'state'),
      params: { v: evil },
    } as Parameters<typeof runPipeline>[1]);
    expect(report.status, JSON.stringify(report.error)).toBe('success');
    const db = new Database(join(d, 'app.db'), { readonly: true });
    expect(db.prepare('SELECT v FROM t').pluck().all()).toEqual([evil]);
    db.close();
    const step = report.steps[0]!;
    expect(step.output).toMatch(/3 statement\(s\) on SQLite .*app\.db, 2 row\(s\) in all/);
    expect(step.components[0]).toMatchObject({
      kind: 'task',
      counters: { 'rows.affected': 2, statements: 3 },
    });
  });

  it('refuses ${env.X} and an undeclared parameter in sql when the spec is checked', () => {
    const plan = (doc: unknown) => {
      try {
        planPipeline(doc, { registry: createRegistry(), env: { HOME: '/x' } });
        return [];
      } catch (e) {
        return (e as ConfigError).issues;
      }
    };
    expect(plan(spec('SELECT ${env.HOME}'))).toEqual([
      {
        path: 'steps[0].with.sql',
        message: expect.stringMatching(/cannot be used here: .*declare a parameter/),
      },
    ]);
    expect(plan(spec('SELECT ${params.nope}'))).toEqual([
      { path: 'steps[0].with.sql', message: expect.stringMatching(/parameter "nope" is not given/) },
    ]);
    // Elsewhere in the config, interpolation is as always.
    expect(
      plan({
        ...spec('SELECT 1'),
        steps: [{ id: 's', task: 'sql', with: { url: '${env.HOME}', sql: 'SELECT 1' } }],
      }),
    ).toEqual([{ path: 'steps[0].with.url', message: expect.stringMatching(/postgres:\/\//) }]);
  });

  it('rejects bad configs at the JSON path at fault', () => {
    expectRejectedAt(
      sqlTask,
      { url: 'sqlite:a.db', sql: 'SELECT 1', transaction: 'yes' },
      'with.transaction',
    );
    expectRejectedAt(sqlTask, { url: 'sqlite:a.db', sql: 'SELECT 1', file: 'a.sql' }, 'with.sql');
    expectRejectedAt(sqlTask, { url: 'oracle://db/x', sql: 'SELECT 1' }, 'with.url');
  });

  it('names the line of a placeholder inside quotes in a script file, and a missing script', async () => {
    const d = mkdtempSync(join(dir, 'q-'));
    writeFileSync(join(d, 'bad.sql'), "SELECT 1;\n\nSELECT '${params.v}';");
    const quoted = await runSql({ url: 'sqlite:x.db', file: 'bad.sql' }, { v: 1 }, d);
    expect((quoted.result as Error).message).toMatch(
      /bad\.sql line 3: \$\{params\.v\} stands inside a quoted string/,
    );
    const missing = await runSql({ url: 'sqlite:x.db', file: 'absent.sql' }, {}, d);
    expect((missing.result as Error).message).toMatch(/cannot read the SQL script .*absent\.sql/);
    const unknown = await runSql({ url: 'sqlite:x.db', sql: 'SELECT ${params.w}' }, {}, d);
    expect((unknown.result as Error).message).toMatch(/statement 1 of 1 .* uses \$\{params\.w\}/);
  });
});
