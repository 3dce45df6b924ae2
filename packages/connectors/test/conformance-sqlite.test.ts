import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sqliteSink, sqliteSource } from '../src/index.ts';
import { sinkConformance, sourceConformance } from './conformance.ts';
import { cliSinkConformance, cliSourceConformance } from './conformance-cli.ts';

// SQLite needs no server: each case gets a database file of its own in a fresh directory.
const dir = mkdtempSync(join(tmpdir(), 'h-sqlite-conformance-'));
let files = 0;

const sample = [
  { id: 1, name: 'Ana', note: 'tab\there' },
  { id: 2, name: 'Bruno', note: "it's" },
  { id: 3, name: 'Cé', note: null },
  { id: 4, name: 'Dora', note: 'new\nline' },
];

/** A fresh database file with an empty table t; returns its path. */
function freshDatabase(): string {
  const path = join(dir, `db${++files}.sqlite`);
  const db = new Database(path);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, note TEXT)');
  db.close();
  return path;
}

function readAll(path: string, sql: string): Record<string, unknown>[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

sourceConformance('sqlite', {
  def: sqliteSource,
  resumable: true,
  badConfig: { path: 'x.db', table: 't', batchSize: 0 },
  badPath: 'with.batchSize',
  secret: 'none',
  sample,
  async setup(rows) {
    const path = freshDatabase();
    const db = new Database(path);
    const insert = db.prepare('INSERT INTO t VALUES (@id, @name, @note)');
    for (const r of rows) insert.run(r);
    db.close();
    return { path, table: 't', orderBy: ['id'] };
  },
});

sinkConformance('sqlite', {
  def: sqliteSink,
  badConfig: { path: 'x.db', table: 't', mode: 'merge' },
  badPath: 'with.mode',
  resumable: true,
  secret: 'none',
  sample,
  setup: async () => ({ path: freshDatabase(), table: 't' }),
  readBack: async (config) => readAll(config.path as string, 'SELECT id, name, note FROM t ORDER BY id'),
});

cliSourceConformance('sqlite', 'sqlite', {
  async input(rows, d) {
    const path = join(d, 'in.db');
    const db = new Database(path);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (@id, @name)');
    db.transaction(() => {
      for (const r of rows) insert.run(r);
    })();
    db.close();
    return { path: 'in.db', table: 't', orderBy: ['id'], batchSize: 50 };
  },
  secret: { coveredBy: 'none: SQLite is a local file, reached with no secret' },
});

cliSinkConformance('sqlite', 'sqlite', {
  output: async () => ({ path: 'out.db', table: 'rows', createTable: true }),
  readBack: async (config, d) => readAll(join(d, config.path as string), 'SELECT id, name FROM "rows"'),
  verify: 'content',
  resumable: true,
  secret: { coveredBy: 'none: SQLite is a local file, reached with no secret' },
});
