/**
 * How the `sql` transform should load rows into DuckDB: the strategies it could use, timed on the
 * bench's order rows as the csv source types them (10 fields, 1M rows by default).
 * Run: `npx tsx bench/sql-load.ts [rows]`. Results in bench/README.md ("sql transform: loading").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BOOLEAN,
  DOUBLE,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  type DuckDBType,
  VARCHAR,
} from '@duckdb/node-api';
import { parquetWriteBuffer } from 'hyparquet-writer';

const N = Number(process.argv[2] ?? 1_000_000);
const COLS = [
  'id',
  'uuid',
  'name',
  'email',
  'country',
  'amount',
  'quantity',
  'created_at',
  'active',
  'notes',
];
const TYPES: DuckDBType[] = [
  DOUBLE,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  VARCHAR,
  DOUBLE,
  DOUBLE,
  VARCHAR,
  BOOLEAN,
  VARCHAR,
];
const DDL = `CREATE TABLE input (id DOUBLE, uuid VARCHAR, name VARCHAR, email VARCHAR, country VARCHAR,
  amount DOUBLE, quantity DOUBLE, created_at VARCHAR, active BOOLEAN, notes VARCHAR)`;

function rows(n: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++)
    out.push({
      id: i,
      uuid: `0000-${i.toString(16).padStart(8, '0')}-aaaa-bbbb`,
      name: `Name ${i % 977}`,
      email: `user${i}@example.com`,
      country: ['FR', 'DE', 'US', 'JP', 'BR'][i % 5],
      amount: (i % 10000) / 100,
      quantity: i % 20,
      created_at: '2024-03-01T12:00:00Z',
      active: i % 2 === 0,
      notes: i % 7 === 0 ? null : 'some notes here',
    });
  return out;
}

const BATCH = 2048;
const strategies: Record<
  string,
  (c: DuckDBConnection, data: Record<string, unknown>[], dir: string) => Promise<void>
> = {
  async appenderRows(c, data) {
    await c.run(DDL);
    const a = await c.createAppender('input');
    for (const r of data) {
      for (let j = 0; j < COLS.length; j++) {
        const v = r[COLS[j]!];
        if (v == null) a.appendNull();
        else if (typeof v === 'number') a.appendDouble(v);
        else if (typeof v === 'boolean') a.appendBoolean(v);
        else a.appendVarchar(String(v));
      }
      a.endRow();
    }
    a.closeSync();
  },
  async appenderChunks(c, data) {
    await c.run(DDL);
    const a = await c.createAppender('input');
    for (let s = 0; s < data.length; s += BATCH) {
      const part = data.slice(s, s + BATCH);
      const chunk = DuckDBDataChunk.create(TYPES, part.length);
      for (let j = 0; j < COLS.length; j++) {
        const k = COLS[j]!;
        chunk.setColumnValues(
          j,
          part.map((r) => (r[k] ?? null) as never),
        );
      }
      a.appendDataChunk(chunk);
    }
    a.closeSync();
  },
  async ndjson(c, data, dir) {
    const p = join(dir, 'in.ndjson');
    const parts: string[] = [];
    for (const r of data) parts.push(JSON.stringify(r));
    writeFileSync(p, `${parts.join('\n')}\n`);
    await c.run(`CREATE TABLE input AS SELECT * FROM read_json('${p}', format = 'newline_delimited')`);
  },
  async ndjsonView(c, data, dir) {
    const p = join(dir, 'in2.ndjson');
    const parts: string[] = [];
    for (const r of data) parts.push(JSON.stringify(r));
    writeFileSync(p, `${parts.join('\n')}\n`);
    await c.run(`CREATE VIEW input AS SELECT * FROM read_json('${p}', format = 'newline_delimited')`);
  },
  async parquet(c, data, dir) {
    const p = join(dir, 'in.parquet');
    const columnData = COLS.map((name, j) => ({
      name,
      data: data.map((r) => r[name] ?? null),
      type: (TYPES[j] === DOUBLE ? 'DOUBLE' : TYPES[j] === BOOLEAN ? 'BOOLEAN' : 'STRING') as never,
    }));
    writeFileSync(p, new Uint8Array(parquetWriteBuffer({ columnData })));
    await c.run(`CREATE VIEW input AS SELECT * FROM read_parquet('${p}')`);
  },
};

const data = rows(N);
const dir = mkdtempSync(join(tmpdir(), 'sql-load-'));
const only = process.argv[3];
for (const [name, load] of Object.entries(strategies)) {
  if (only && name !== only) continue;
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const t0 = performance.now();
  await load(c, data, dir);
  const t1 = performance.now();
  const r = await c.runAndReadAll('SELECT country, count(*), sum(amount) FROM input GROUP BY country');
  const t2 = performance.now();
  console.log(
    `${name.padEnd(16)} load ${(t1 - t0).toFixed(0).padStart(6)} ms  query ${(t2 - t1).toFixed(0).padStart(5)} ms  groups ${r.currentRowCount}`,
  );
  c.closeSync();
  db.closeSync();
}
rmSync(dir, { recursive: true, force: true });
