import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, type TaskContext, type TaskResult, toSluiceError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { sqlTask } from './task.ts';

/** What a case needs of its database: a url, and a way to look at a table from outside the task. */
export interface Engine {
  url(): string;
  /** The rows of `table` as [id, name] pairs, ordered by id; undefined when the table does not exist. */
  rows(table: string): Promise<[number, string][] | undefined>;
  /** A fresh table name of this case's own. */
  table(): string;
}

/** Runs the task as a step would, in `dir`, with its log lines and counters kept. */
export async function runSql(
  config: Record<string, unknown>,
  params: Record<string, unknown> = {},
  dir?: string,
) {
  const workDir = dir ?? mkdtempSync(join(tmpdir(), 'h-sqlite-task-'));
  const logs: string[] = [];
  const counters: Record<string, number> = {};
  const log = (level: string) => (m: string) => logs.push(`${level} ${m}`);
  const ctx: TaskContext<never> = {
    config: new Registry().validate(sqlTask, config, 'with'),
    signal: new AbortController().signal,
    stepId: 'test',
    componentId: 'test:sql',
    baseDir: workDir,
    workDir,
    stepDir: join(workDir, '.state'),
    filesDir: join(workDir, '.state', 'files'),
    params,
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    quarantine: () => undefined,
    count: (name, n) => {
      counters[name] = (counters[name] ?? 0) + n;
    },
  };
  const result = await sqlTask.run(ctx).catch((e: unknown) => toSluiceError(e));
  return { result: result as TaskResult | Error, logs, counters, workDir };
}

/** The cases every engine passes. */
export function sqlTaskCases(name: string, e: Engine): void {
  describe(`sql task on ${name}`, () => {
    it('runs several statements in order and reports the rows each changed', async () => {
      const t = e.table();
      const { result, counters, logs } = await runSql({
        url: e.url(),
        sql: `CREATE TABLE ${t} (id integer primary key, name varchar(200));
              INSERT INTO ${t} VALUES (1, 'a'), (2, 'b'), (3, 'c');
              UPDATE ${t} SET name = 'z' WHERE id >= 2;`,
      });
      expect(result).not.toBeInstanceOf(Error);
      const out = (result as TaskResult).output!;
      expect(out).toMatch(/2\. line 2: INSERT INTO .* — 3 row\(s\)/);
      expect(out).toMatch(/3\. line 3: UPDATE .* — 2 row\(s\)/);
      expect(out).toMatch(/3 statement\(s\) on .*, 5 row\(s\) in all/);
      expect((result as TaskResult).metrics).toMatchObject({ statements: 3, rowsAffected: 5 });
      expect(counters).toEqual({ 'rows.affected': 5, statements: 3 });
      expect(logs.some((l) => /statement 3: 2 row\(s\)/.test(l))).toBe(true);
      expect(await e.rows(t)).toEqual([
        [1, 'a'],
        [2, 'z'],
        [3, 'z'],
      ]);
    });

    it('runs a script file, binding ${params.x} as values: an injection attempt stays a value', async () => {
      const t = e.table();
      const dir = mkdtempSync(join(tmpdir(), 'h-sqlite-task-'));
      const evil = `x'); DROP TABLE ${t}; --`;
      writeFileSync(
        join(dir, 'load.sql'),
        [
          '-- a script; with comments',
          `CREATE TABLE ${t} (id integer primary key, name varchar(200));`,
          `INSERT INTO ${t} VALUES (\${params.id}, \${params.name});`,
          `/* the ; here is no end */ INSERT INTO ${t} VALUES (\${params.id} + 1, 'it''s; fine');`,
        ].join('\n'),
      );
      const { result } = await runSql({ url: e.url(), file: 'load.sql' }, { id: 7, name: evil }, dir);
      expect(result).not.toBeInstanceOf(Error);
      expect(await e.rows(t)).toEqual([
        [7, evil],
        [8, "it's; fine"],
      ]);
    });

    it('rolls every statement back when one fails, naming it and its line', async () => {
      const t = e.table();
      await runSql({ url: e.url(), sql: `CREATE TABLE ${t} (id integer primary key, name varchar(200))` });
      const { result } = await runSql({
        url: e.url(),
        sql: `INSERT INTO ${t} VALUES (1, 'kept?');\n\nINSERT INTO ${t} VALUES (1, 'duplicate');\nINSERT INTO ${t} VALUES (2, 'never')`,
      });
      expect(result).toBeInstanceOf(Error);
      expect((result as Error).message).toMatch(
        /statement 2 of 3 \(sql line 3: INSERT INTO .*duplicate.*\) failed: .*the transaction was rolled back/,
      );
      expect(await e.rows(t)).toEqual([]);
    });

    it('with transaction: false, keeps the statements before the one that failed', async () => {
      const t = e.table();
      await runSql({ url: e.url(), sql: `CREATE TABLE ${t} (id integer primary key, name varchar(200))` });
      const { result } = await runSql({
        url: e.url(),
        transaction: false,
        sql: `INSERT INTO ${t} VALUES (1, 'kept'); INSERT INTO ${t} VALUES (1, 'duplicate')`,
      });
      expect((result as Error).message).toMatch(/statements 1–1 ran and are kept/);
      expect(await e.rows(t)).toEqual([[1, 'kept']]);
    });
  });
}
