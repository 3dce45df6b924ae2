import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type Json, Registry, type Row, runPipeline, toSluiceError } from '@sluice/core';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSink, readSource } from '../../test/harness.ts';
import { createRegistry } from '../registry.ts';
import { sqliteSink } from './sink.ts';
import { sqliteSource } from './source.ts';

const dir = mkdtempSync(join(tmpdir(), 'h-sqlite-'));
let n = 0;
const freshPath = () => join(dir, `t${++n}.db`);

function withDb<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

async function write(config: Record<string, unknown>, batches: Row[][], key = `test/${++n}`) {
  const { writer, harness } = await openSink(sqliteSink, config, { key });
  await writer.recover?.();
  await writer.start(undefined);
  for (const b of batches) await writer.write(b);
  const result = await writer.close();
  await writer.forget?.();
  return { result, harness };
}

describe('sqlite source and sink', () => {
  it('round-trips INTEGER beyond 2^53 exactly, REAL, TEXT, BLOB as base64 and NULL', async () => {
    const path = freshPath();
    withDb(path, (db) => {
      db.exec('CREATE TABLE src (id INTEGER PRIMARY KEY, big INTEGER, r REAL, t TEXT, b BLOB, z)');
      db.prepare('INSERT INTO src VALUES (?, ?, ?, ?, ?, ?)').run(
        1,
        9007199254740993n,
        1.5,
        'héllo',
        Buffer.from([0, 1, 255]),
        null,
      );
      db.prepare('INSERT INTO src VALUES (?, ?, ?, ?, ?, ?)').run(
        2,
        -9223372036854775808n,
        -0.25,
        '',
        null,
        7,
      );
      db.exec('CREATE TABLE dst (id INTEGER PRIMARY KEY, big INTEGER, r REAL, t TEXT, b BLOB, z)');
    });
    const read = await readSource(sqliteSource, { path, table: 'src' });
    expect(read.rows).toEqual([
      { id: 1, big: '9007199254740993', r: 1.5, t: 'héllo', b: 'AAH/', z: null },
      { id: 2, big: '-9223372036854775808', r: -0.25, t: '', b: null, z: 7 },
    ]);
    const { result } = await write({ path, table: 'dst', verify: 'content' }, [read.rows]);
    expect(result).toMatchObject({ rowsWritten: 2, verification: { rowsHanded: 2, rowsFound: 2 } });
    expect(result.verification?.handed).toBe(result.verification?.found);
    const back = withDb(path, (db) =>
      db.prepare('SELECT * FROM dst ORDER BY id').safeIntegers(true).all(),
    ) as Record<string, unknown>[];
    expect(back[0]).toEqual({
      id: 1n,
      big: 9007199254740993n,
      r: 1.5,
      t: 'héllo',
      b: Buffer.from([0, 1, 255]),
      z: null,
    });
    expect(back[1]!.big).toBe(-9223372036854775808n);
    // Written in WAL mode, so readers go on reading while a run writes.
    expect(withDb(path, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
  });

  it('reads incrementally over two runs: the second reads only rows added since', async () => {
    const path = freshPath();
    withDb(path, (db) => {
      db.exec('CREATE TABLE ev (id INTEGER PRIMARY KEY, v TEXT)');
      for (let i = 1; i <= 5; i++) db.prepare('INSERT INTO ev VALUES (?, ?)').run(i, `v${i}`);
    });
    const state = new Map<string, Json>();
    const config = { path, table: 'ev', incremental: { column: 'id' }, batchSize: 2 };
    const first = await readSource(sqliteSource, config, { state });
    expect(first.rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    expect(state.get('cursor')).toBe(5);
    withDb(path, (db) => db.prepare('INSERT INTO ev VALUES (?, ?), (?, ?)').run(6, 'v6', 7, 'v7'));
    const second = await readSource(sqliteSource, config, { state });
    expect(second.rows.map((r) => r.id)).toEqual([6, 7]);
    const third = await readSource(sqliteSource, config, { state });
    expect(third.rows).toEqual([]);
  });

  it('keeps equal cursor values in one batch, so a resume after any batch misses none', async () => {
    const path = freshPath();
    withDb(path, (db) => {
      db.exec('CREATE TABLE ev (day TEXT, n INTEGER)');
      for (const [d, k] of [
        ['a', 1],
        ['b', 2],
        ['b', 3],
        ['b', 4],
        ['c', 5],
      ] as const)
        db.prepare('INSERT INTO ev VALUES (?, ?)').run(d, k);
    });
    const config = { path, query: 'SELECT * FROM ev', incremental: { column: 'day' }, batchSize: 2 };
    const first = await readSource(sqliteSource, config, { maxBatches: 1 });
    const rest = await readSource(sqliteSource, config, { resumeFrom: first.positions[0]! });
    expect([...first.rows, ...rest.rows].map((r) => r.n)).toEqual([1, 2, 3, 4, 5]);
  });

  it('upserts by key (the last row of a key wins), verifying content, and reports merged rows', async () => {
    const path = freshPath();
    withDb(path, (db) => {
      db.exec('CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)');
      db.exec("INSERT INTO p VALUES (1, 'old', 1), (2, 'keep', 2)");
    });
    const config = { path, table: 'p', mode: 'upsert', key: ['id'], verify: 'content' };
    const { result, harness } = await write(config, [
      [
        { id: 1, name: 'new', qty: 10 },
        { id: 3, name: 'added', qty: 3 },
      ],
      [{ id: 3, name: 'added again', qty: 4 }],
    ]);
    expect(withDb(path, (db) => db.prepare('SELECT * FROM p ORDER BY id').all())).toEqual([
      { id: 1, name: 'new', qty: 10 },
      { id: 2, name: 'keep', qty: 2 },
      { id: 3, name: 'added again', qty: 4 },
    ]);
    expect(result.rowsWritten).toBe(2);
    expect(harness.merged).toBe(1);
    expect(result.verification).toMatchObject({ rowsHanded: 2, rowsFound: 2 });
  });

  it('creates the table on the first batch, with the key as primary key for upsert', async () => {
    const path = join(freshPath(), '..', `sub${n}`, 'new.db');
    const config = { path, table: 'made', mode: 'upsert', key: ['id'], createTable: true };
    await write(config, [[{ id: 1, ok: true, price: 1.25, tags: ['a'], none: null }]]);
    await write(config, [[{ id: 1, ok: false, price: 2, tags: [], none: 'x' }]]);
    expect(withDb(path, (db) => db.prepare('SELECT * FROM made').all())).toEqual([
      { id: 1, ok: 0, price: 2, tags: '[]', none: 'x' },
    ]);
    const types = withDb(path, (db) =>
      db.prepare('SELECT name, type, pk FROM pragma_table_info(?)').all('made'),
    );
    expect(types).toEqual([
      { name: 'id', type: 'INTEGER', pk: 1 },
      { name: 'ok', type: 'INTEGER', pk: 0 },
      { name: 'price', type: 'REAL', pk: 0 },
      { name: 'tags', type: 'TEXT', pk: 0 },
      { name: 'none', type: '', pk: 0 },
    ]);
  });

  it('truncates in the transaction of the first rows: an aborted run leaves the old rows', async () => {
    const path = freshPath();
    withDb(path, (db) => {
      db.exec('CREATE TABLE t (id INTEGER)');
      db.exec('INSERT INTO t VALUES (1), (2)');
    });
    const config = { path, table: 't', mode: 'truncate' };
    const { writer } = await openSink(sqliteSink, config);
    await writer.start(undefined);
    await writer.write([{ id: 9 }]);
    await writer.abort(new Error('crash'));
    expect(withDb(path, (db) => db.prepare('SELECT id FROM t').pluck().all())).toEqual([1, 2]);
    await write(config, [[{ id: 3 }]]);
    expect(withDb(path, (db) => db.prepare('SELECT id FROM t').pluck().all())).toEqual([3]);
  });

  it('verify content fails, before the commit, when a trigger changed what was written', async () => {
    const path = freshPath();
    withDb(path, (db) => {
      db.exec('CREATE TABLE t (id INTEGER, name TEXT)');
      db.exec(
        'CREATE TRIGGER up AFTER INSERT ON t BEGIN UPDATE t SET name = upper(name) WHERE rowid = NEW.rowid; END',
      );
    });
    const err = await write({ path, table: 't', verify: 'content' }, [[{ id: 1, name: 'ana' }]]).catch(
      (e: unknown) => toSluiceError(e),
    );
    expect(err).toMatchObject({ code: ErrorCode.INTEGRITY });
    expect(withDb(path, (db) => db.prepare('SELECT count(*) FROM t').pluck().get())).toBe(0);
  });

  it('refuses a fresh append while an interrupted run can still resume', async () => {
    const path = freshPath();
    withDb(path, (db) => db.exec('CREATE TABLE t (id INTEGER)'));
    const config = { path, table: 't' };
    const a = await openSink(sqliteSink, config, { key: 'k' });
    await a.writer.start(undefined);
    await a.writer.write([{ id: 1 }]);
    await a.writer.commit({ seq: 1, position: 1 });
    await a.writer.abort(new Error('crash'));
    const b = await openSink(sqliteSink, config, { key: 'k' });
    const err = await b.writer.start(undefined).catch((e: unknown) => toSluiceError(e));
    await b.writer.abort(err);
    expect(err).toMatchObject({ code: ErrorCode.CHECKPOINT });
    expect((err as Error).message).toMatch(/--resume/);
  });

  it('says which table is missing, and which fields have no column', async () => {
    const path = freshPath();
    withDb(path, (db) => db.exec('CREATE TABLE t (id INTEGER)'));
    const missing = await write({ path, table: 'nope' }, []).catch((e: unknown) => toSluiceError(e));
    expect(missing).toMatchObject({ code: ErrorCode.NOT_FOUND });
    expect((missing as Error).message).toMatch(/table "nope" does not exist in .*createTable: true/);
    const extra = await write({ path, table: 't' }, [[{ id: 1, colour: 'red' }]]).catch((e: unknown) =>
      toSluiceError(e),
    );
    expect((extra as Error).message).toMatch(/has no column "colour"/);
    const noFile = await readSource(sqliteSource, { path: join(dir, 'absent.db'), table: 't' }).catch(
      (e: unknown) => toSluiceError(e),
    );
    expect(noFile).toMatchObject({ code: ErrorCode.NOT_FOUND });
  });

  it('rejects bad configs at the JSON path at fault', () => {
    const registry = new Registry();
    const paths = (def: Parameters<Registry['check']>[0], config: unknown) =>
      registry.check(def, config, 'with').map((i) => i.path);
    expect(paths(sqliteSource, { path: 'a.db', table: 't', query: 'SELECT 1' })).toEqual(['with.query']);
    expect(paths(sqliteSource, { path: 'a.db', query: 'SELECT 1', columns: ['a'] })).toEqual([
      'with.columns',
    ]);
    expect(
      paths(sqliteSource, { path: 'a.db', table: 't', columns: ['a'], incremental: { column: 'b' } }),
    ).toEqual(['with.incremental.column']);
    expect(paths(sqliteSink, { path: 'a.db', table: 't', mode: 'upsert' })).toEqual(['with']);
    expect(
      registry.check(sqliteSink, { path: 'a.db', table: 't', mode: 'upsert' }, 'with')[0]!.message,
    ).toMatch(/"key"/);
    expect(paths(sqliteSink, { path: '', table: 't' })).toEqual(['with.path']);
  });

  it('keeps the event loop turning while it reads a large table', async () => {
    const path = freshPath();
    withDb(path, (db) => {
      db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, pad TEXT)');
      const ins = db.prepare('INSERT INTO big VALUES (?, ?)');
      db.transaction(() => {
        for (let i = 1; i <= 60_000; i++) ins.run(i, 'x'.repeat(20));
      })();
    });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const r = await readSource(sqliteSource, { path, table: 'big', batchSize: 2000 });
    clearInterval(timer);
    expect(r.rows).toHaveLength(60_000);
    expect(ticks).toBeGreaterThan(5);
  });

  it('opens no database outside the roots of a path policy (source, sink and sql task)', async () => {
    const root = realpathSync(mkdtempSync(join(dir, 'root-')));
    const outside = join(realpathSync(dir), `outside${++n}.db`);
    withDb(outside, (db) => db.exec('CREATE TABLE t (id INTEGER)'));
    writeFileSync(join(root, 'in.ndjson'), '{"id":1}\n');
    const run = (steps: object[]) =>
      runPipeline(
        { name: `h-sqlite-paths-${++n}`, steps },
        {
          registry: createRegistry(),
          baseDir: root,
          stateDir: join(root, `state${n}`),
          paths: { roots: [root] },
        },
      );
    const flows = [
      [
        { source: 'sqlite', with: { path: outside, table: 't' } },
        { sink: 'ndjson', with: { path: 'o.ndjson' } },
      ],
      [
        { source: 'ndjson', with: { path: 'in.ndjson' } },
        { sink: 'sqlite', with: { path: outside, table: 't' } },
      ],
    ];
    for (const flow of flows) {
      const report = await run([{ id: 's', flow }]);
      expect(report.error?.code, JSON.stringify(report.error)).toBe('PATH_FORBIDDEN');
    }
    const task = await run([
      { id: 's', task: 'sql', with: { url: `sqlite://${outside}`, sql: 'DROP TABLE t' } },
    ]);
    expect(task.error?.code).toBe('PATH_FORBIDDEN');
    expect(withDb(outside, (db) => db.prepare('SELECT count(*) FROM t').pluck().get())).toBe(0);
  });
});
