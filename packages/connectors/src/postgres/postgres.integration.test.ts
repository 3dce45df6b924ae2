import { randomBytes } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { Json, QuarantineEntry, Row, SinkContext, SinkWriter, SourceContext } from '@sluice/core';
import { Registry, SluiceError } from '@sluice/core';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresSink } from './sink.ts';
import { postgresSource } from './source.ts';

const URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const log = { debug() {}, info() {}, warn() {}, error() {} };

let admin: pg.Client;
let schema: string;

beforeEach(async () => {
  schema = `t_${randomBytes(6).toString('hex')}`;
  admin = new pg.Client({ connectionString: URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
});

afterEach(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

type SourceConfig = Static<typeof postgresSource.config>;
type SinkConfig = Static<typeof postgresSink.config>;

function sourceCtx(config: Partial<SourceConfig>, state = new Map<string, Json>(), resumeFrom?: Json) {
  const ctx: SourceContext<SourceConfig> = {
    config: { url: URL, dbSchema: schema, batchSize: 3, ...config },
    signal: new AbortController().signal,
    stepId: 'load',
    componentId: 'load.0:postgres',
    baseDir: '/tmp',
    params: {},
    log,
    quarantine() {},
    resumeFrom,
    state: { get: (k) => state.get(k), set: (k, v) => void state.set(k, v) },
    setOrigin() {},
  };
  return ctx;
}

async function readAll(ctx: SourceContext<SourceConfig>) {
  const batches: { rows: Row[]; position?: Json; progress?: { done: number } }[] = [];
  for await (const b of postgresSource.read(ctx)) batches.push(b);
  return { batches, rows: batches.flatMap((b) => b.rows) };
}

function sinkCtx(config: Partial<SinkConfig>, quarantined: QuarantineEntry[] = [], merged = { rows: 0 }) {
  const ctx: SinkContext<SinkConfig> = {
    config: {
      url: URL,
      table: 'out',
      dbSchema: schema,
      checkpointSchema: schema,
      mode: 'append',
      schema: 'evolve',
      createTable: false,
      inferRows: 1000,
      verify: 'count',
      ...config,
    },
    signal: new AbortController().signal,
    stepId: 'load',
    componentId: 'load.1:postgres',
    baseDir: '/tmp',
    params: {},
    log,
    quarantine: (e) => void quarantined.push(e),
    checkpointKey: 'pipe/load/load.1',
    merged: (rows) => {
      merged.rows += rows;
    },
  };
  return ctx;
}

async function openWriter(config: Partial<SinkConfig>, resume?: Json): Promise<SinkWriter> {
  const w = await postgresSink.open(sinkCtx(config));
  await w.recover?.();
  await w.start(resume);
  return w;
}

async function rowsOf(sql: string): Promise<Row[]> {
  return (await admin.query(sql)).rows;
}

const people = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => ({ id: from + i, name: `p${from + i}` }));

describe('postgres source', () => {
  beforeEach(async () => {
    await admin.query(`CREATE TABLE ${schema}.src (id bigint, amount numeric, big numeric, at timestamptz,
      day date, doc jsonb, tags text[]);
      INSERT INTO ${schema}.src SELECT g, g * 1.5, 12345678901234567890.5, '2024-01-02 03:04:05.123456+00',
      '2024-02-29', jsonb_build_object('k', g), ARRAY['a', 'b'] FROM generate_series(1, 7) g`);
  });

  it('reads a table in cursor batches with typed values', async () => {
    const { batches, rows } = await readAll(sourceCtx({ table: 'src', orderBy: ['id'] }));
    expect(batches.map((b) => b.rows.length)).toEqual([3, 3, 1]);
    expect(batches.map((b) => b.position)).toEqual([{ rows: 3 }, { rows: 6 }, { rows: 7 }]);
    expect(batches.at(-1)!.progress).toEqual({ done: 7 });
    expect(rows[0]).toEqual({
      id: 1,
      amount: 1.5,
      big: '12345678901234567890.5',
      at: '2024-01-02T03:04:05.123456Z',
      day: '2024-02-29',
      doc: { k: 1 },
      tags: ['a', 'b'],
    });
  });

  it('resumes an ordered read with OFFSET and omits positions without orderBy', async () => {
    const resumed = await readAll(
      sourceCtx({ table: 'src', orderBy: ['id'], columns: ['id'] }, undefined, { rows: 5 }),
    );
    expect(resumed.rows).toEqual([{ id: 6 }, { id: 7 }]);
    expect(resumed.batches[0]!.progress).toEqual({ done: 7 });
    const plain = await readAll(sourceCtx({ table: 'src', columns: ['id'] }));
    expect(plain.rows).toHaveLength(7);
    expect(plain.batches.every((b) => b.position === undefined)).toBe(true);
  });

  it('reads a query', async () => {
    const { rows } = await readAll(
      sourceCtx({ query: `SELECT id * 10 AS x FROM ${schema}.src WHERE id <= 2 ORDER BY id;` }),
    );
    expect(rows).toEqual([{ x: 10 }, { x: 20 }]);
  });

  it('reads incrementally: a second run sees only new rows', async () => {
    const state = new Map<string, Json>();
    const first = await readAll(
      sourceCtx({ table: 'src', columns: ['id'], incremental: { column: 'id' } }, state),
    );
    expect(first.rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Each batch's last value is held back until the next read shows it cannot recur.
    expect(first.batches.map((b) => b.position)).toEqual([{ cursor: 2 }, { cursor: 5 }, { cursor: 7 }]);
    expect(state.get('cursor')).toBe(7);
    await admin.query(`INSERT INTO ${schema}.src (id) VALUES (8), (9)`);
    const second = await readAll(
      sourceCtx({ table: 'src', columns: ['id'], incremental: { column: 'id' } }, state),
    );
    expect(second.rows.map((r) => r.id)).toEqual([8, 9]);
    expect(state.get('cursor')).toBe(9);
  });

  it('never ends an incremental batch inside a run of equal values', async () => {
    await admin.query(`CREATE TABLE ${schema}.ev (v int, n int);
      INSERT INTO ${schema}.ev VALUES (1, 1), (2, 2), (2, 3), (2, 4), (2, 5), (3, 6)`);
    const { batches, rows } = await readAll(
      sourceCtx({ query: `SELECT * FROM ${schema}.ev -- all events`, incremental: { column: 'v' } }),
    );
    expect(rows.map((r) => r.n).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    for (const b of batches.slice(0, -1)) {
      const next = batches[batches.indexOf(b) + 1]!;
      expect(next.rows[0]!.v).not.toBe(b.rows.at(-1)!.v);
    }
  });

  it('reads incrementally on a timestamptz column, microseconds intact', async () => {
    await admin.query(`CREATE TABLE ${schema}.ts (at timestamptz);
      INSERT INTO ${schema}.ts VALUES ('2024-01-01 00:00:00.000001+00'), ('2024-01-01 00:00:00.000002+00')`);
    const state = new Map<string, Json>([['cursor', '2024-01-01T00:00:00.000001Z']]);
    const { rows } = await readAll(sourceCtx({ table: 'ts', incremental: { column: 'at' } }, state));
    expect(rows).toEqual([{ at: '2024-01-01T00:00:00.000002Z' }]);
  });

  it('stops promptly when aborted between batches and during a slow read', async () => {
    const between = new AbortController();
    const ctx = { ...sourceCtx({ table: 'src' }), signal: between.signal };
    const err = await (async () => {
      for await (const _ of postgresSource.read(ctx)) between.abort(new Error('cancelled'));
    })().catch((e) => e);
    expect(err.message).toBe('cancelled');

    const during = new AbortController();
    const slow = { ...sourceCtx({ query: `SELECT pg_sleep(30) AS ${schema}` }), signal: during.signal };
    setTimeout(() => during.abort(new Error('timed out')), 300);
    const t0 = Date.now();
    const err2 = await readAll(slow).catch((e) => e);
    expect(err2.message).toBe('timed out');
    expect(Date.now() - t0).toBeLessThan(5000);
    // The server stops too, not just the client.
    const busy = async () =>
      (
        await rowsOf(
          `SELECT 1 FROM pg_stat_activity WHERE query LIKE '%AS ${schema}' AND pid <> pg_backend_pid()`,
        )
      ).length;
    for (let i = 0; i < 50 && (await busy()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await busy()).toBe(0);
  });

  it('says which table is missing', async () => {
    const err = await readAll(sourceCtx({ table: 'nope' })).catch((e) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect(err.message).toMatch(/load\.0:postgres: relation ".*\.nope" does not exist in database "test"/);
    expect(err.retryable).toBe(false);
  });

  it('rejects a config with both query and table when the spec is checked', () => {
    const issues = new Registry().check(
      postgresSource,
      { url: URL, table: 'src', query: 'SELECT 1' },
      'with',
    );
    expect(issues).toEqual([
      { path: 'with.query', message: 'give either query (SQL) or table, not both and not neither' },
    ]);
  });
});

describe('postgres connections', () => {
  it('explains a refused connection, retryably, without the password', async () => {
    const err = await postgresSink
      .open(sinkCtx({ url: 'postgres://postgres:s3cret@127.0.0.1:1/test' }))
      .catch((e) => e);
    expect(err.message).toBe(
      'load.1:postgres: cannot connect to PostgreSQL at 127.0.0.1:1: connection refused — is the server running and the url right?',
    );
    expect(err.retryable).toBe(true);
    expect(err.message).not.toContain('s3cret');
  });

  it('explains an unknown database, fatally', async () => {
    const err = await postgresSink
      .open(sinkCtx({ url: 'postgres://postgres@127.0.0.1:5432/no_such_db_x' }))
      .catch((e) => e);
    expect(err.message).toMatch(/database "no_such_db_x" does not exist — check the database name/);
    expect(err.retryable).toBe(false);
  });
});

describe('postgres sink', () => {
  beforeEach(async () => {
    await admin.query(`CREATE TABLE ${schema}.out (id bigint PRIMARY KEY, name text)`);
  });

  it('appends with COPY and reports acknowledged rows', async () => {
    const w = await openWriter({});
    await w.write(people(0, 3));
    await w.commit({ seq: 1, position: { rows: 3 } });
    await w.write(people(3, 5));
    expect(await w.close()).toEqual({ rowsWritten: 5, location: `${schema}.out` });
    expect(await rowsOf(`SELECT id::int, name FROM ${schema}.out ORDER BY id`)).toEqual(people(0, 5));
    // The last checkpoint stays, so a crash after close resumes by closing, not by writing again.
    expect(await rowsOf(`SELECT seq::int FROM ${schema}.checkpoints`)).toEqual([{ seq: 1 }]);
  });

  it('escapes special characters and encodes every value type', async () => {
    await admin.query(`CREATE TABLE ${schema}.v (s text, n double precision, b boolean, d timestamptz, j jsonb,
      a text[], x bytea, z text)`);
    const rows = [
      {
        s: 'tab\there\nline\\slash\r',
        n: 1.5,
        b: true,
        d: new Date('2024-01-02T03:04:05.678Z'),
        j: { k: [1, 'x'] },
        a: ['p,q', 'r"s', null],
        x: Buffer.from([0, 255]),
        z: null,
      },
      { s: 'ok', n: Number.NaN, b: false, d: null, j: [1], a: [], x: null, z: undefined },
    ];
    const w = await openWriter({ table: 'v' });
    await w.write(rows);
    expect((await w.close()).rowsWritten).toBe(2);
    const got = await rowsOf(
      `SELECT s, n, b, d::text, j, a, encode(x, 'hex') AS x, z FROM ${schema}.v ORDER BY s DESC`,
    );
    expect(got[0]).toEqual({
      s: 'tab\there\nline\\slash\r',
      n: 1.5,
      b: true,
      d: '2024-01-02 03:04:05.678+00',
      j: { k: [1, 'x'] },
      a: ['p,q', 'r"s', null],
      x: '00ff',
      z: null,
    });
    expect(got[1]).toMatchObject({ s: 'ok', n: Number.NaN, b: false, d: null, j: [1], a: [] });
  });

  it('quarantines a row PostgreSQL cannot store and writes the rest', async () => {
    const quarantined: QuarantineEntry[] = [];
    const w = await postgresSink.open(sinkCtx({}, quarantined));
    await w.start(undefined);
    await w.write([
      { id: 1, name: 'a\u0000b' },
      { id: 2, name: 'fine' },
    ]);
    expect((await w.close()).rowsWritten).toBe(1);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]!.reason).toMatch(/field "name" contains a NUL character/);
  });

  it('truncates in the first transaction only', async () => {
    await admin.query(`INSERT INTO ${schema}.out VALUES (100, 'old')`);
    const w = await openWriter({ mode: 'truncate' });
    await w.write(people(0, 2));
    expect((await w.close()).rowsWritten).toBe(2);
    expect(await rowsOf(`SELECT id::int FROM ${schema}.out ORDER BY id`)).toEqual([{ id: 0 }, { id: 1 }]);
  });

  it('upserts by key, counting merged rows; the last of repeated keys wins', async () => {
    await admin.query(`INSERT INTO ${schema}.out VALUES (1, 'old')`);
    const merged = { rows: 0 };
    const w = await postgresSink.open(sinkCtx({ mode: 'upsert', key: ['id'] }, [], merged));
    await w.start(undefined);
    await w.write([
      { id: 1, name: 'new' },
      { id: 2, name: 'x' },
      { id: 2, name: 'y' },
    ]);
    await w.commit({ seq: 1, position: null });
    expect(merged.rows).toBe(1);
    await w.write([{ id: 3, name: 'z' }]);
    expect((await w.close()).rowsWritten).toBe(3);
    expect(merged.rows).toBe(1);
    expect(await rowsOf(`SELECT id::int, name FROM ${schema}.out ORDER BY id`)).toEqual([
      { id: 1, name: 'new' },
      { id: 2, name: 'y' },
      { id: 3, name: 'z' },
    ]);
  });

  it('stops a statement blocked on a lock when the run is cancelled', async () => {
    const locker = new pg.Client({ connectionString: URL });
    await locker.connect();
    try {
      await locker.query(`BEGIN; LOCK TABLE ${schema}.out IN ACCESS EXCLUSIVE MODE`);
      const ac = new AbortController();
      const ctx = { ...sinkCtx({ mode: 'truncate' }), signal: ac.signal };
      const w = await postgresSink.open(ctx);
      const started = w.start(undefined).then(
        () => 'started',
        (e: Error) => e.message,
      );
      // The TRUNCATE waits for the lock: the sink reports nothing until the cancel.
      const waitForLockWait = async () => {
        for (;;) {
          const r = await admin.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'TRUNCATE%'`,
          );
          if (r.rows[0].n > 0) return;
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await waitForLockWait();
      ac.abort(new Error('cancelled by the test'));
      expect(await started).toBe('cancelled by the test');
      await w.abort(new Error('cancelled by the test'));
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });

  it('requires key for upsert', async () => {
    const err = await postgresSink.open(sinkCtx({ mode: 'upsert' })).catch((e) => e);
    expect(err.message).toMatch(/mode "upsert" needs key/);
  });

  it('creates a missing table from the first batch', async () => {
    const w = await openWriter({ table: 'fresh', createTable: true, mode: 'upsert', key: ['id'] });
    await w.write([
      { id: 1, price: 2.5, qty: 3, ok: true, meta: { a: 1 }, label: 'x', none: null },
      { id: 2, price: 4 },
    ]);
    expect((await w.close()).rowsWritten).toBe(2);
    const types = await rowsOf(`SELECT column_name AS c, data_type AS t FROM information_schema.columns
      WHERE table_schema = '${schema}' AND table_name = 'fresh' ORDER BY ordinal_position`);
    expect(types.map((r) => `${r.c}:${r.t}`)).toEqual([
      'id:bigint',
      'price:double precision',
      'qty:bigint',
      'ok:boolean',
      'meta:jsonb',
      'label:text',
      'none:text',
    ]);
    expect(await rowsOf(`SELECT price FROM ${schema}.fresh ORDER BY id`)).toEqual([
      { price: 2.5 },
      { price: 4 },
    ]);
  });

  it('names a missing table and a missing column', async () => {
    const missing = await openWriter({ table: 'absent' }).catch((e) => e);
    expect(missing.message).toMatch(
      /table t_\w+\.absent does not exist in database "test" at 127\.0\.0\.1:5432 — create it, or set createTable: true/,
    );
    const w = await openWriter({ schema: 'freeze' });
    const err = await w.write([{ id: 1, nam: 'typo' }]).catch((e) => e);
    expect(err.message).toMatch(/has no column "nam" \(its columns: id, name\), and schema: freeze/);
    await w.abort(err);
  });

  it('fails a COPY the server rejects with the reason, and rolls back', async () => {
    const w = await openWriter({});
    await w.write([{ id: 'not a number', name: 'a' }]);
    const err = await w.commit({ seq: 1, position: null }).catch((e) => e);
    expect(err.message).toMatch(/failed to copy rows into t_\w+\.out: invalid input syntax for type bigint/);
    await w.abort(err);
    expect(await rowsOf(`SELECT * FROM ${schema}.out`)).toEqual([]);
  });

  it('resumes after a crash with each row exactly once', async () => {
    const first = await openWriter({});
    expect(await first.recover!()).toBeUndefined();
    await first.write(people(0, 10));
    await first.commit({ seq: 1, position: { rows: 10 } });
    await first.write(people(10, 15));
    await first.abort(new Error('crash'));

    const again = await postgresSink.open(sinkCtx({}));
    expect(await again.recover!()).toBe(1);
    expect(await rowsOf(`SELECT seq::int, position FROM ${schema}.checkpoints`)).toEqual([
      { seq: 1, position: { rows: 10 } },
    ]);
    await again.start({ seq: 1 });
    await again.write(people(10, 20));
    expect((await again.close()).rowsWritten).toBe(10);
    // The final checkpoint stays until the run says the step succeeded, then goes.
    expect(await rowsOf(`SELECT seq::int FROM ${schema}.checkpoints`)).toHaveLength(1);
    await again.forget!();
    expect(await rowsOf(`SELECT * FROM ${schema}.checkpoints`)).toEqual([]);
    const ids = (await rowsOf(`SELECT id::int FROM ${schema}.out ORDER BY id`)).map((r) => r.id);
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('starts fresh by dropping an old checkpoint', async () => {
    const first = await openWriter({});
    await first.write(people(0, 1));
    await first.commit({ seq: 4, position: null });
    await first.abort(new Error('crash'));
    const fresh = await openWriter({ mode: 'truncate' });
    // Dropped at once: a crash before this run's first commit must not resume from the old one.
    expect(await rowsOf(`SELECT * FROM ${schema}.checkpoints`)).toEqual([]);
    await fresh.write(people(5, 6));
    await fresh.close();
    expect(await rowsOf(`SELECT * FROM ${schema}.checkpoints`)).toEqual([]);
    expect(await rowsOf(`SELECT id::int FROM ${schema}.out`)).toEqual([{ id: 5 }]);
  });

  it('writes many rows through backpressure', async () => {
    const w = await openWriter({ batchRows: 1000 });
    const n = 60_000;
    for (let i = 0; i < n; i += 20_000)
      await w.write(people(i, i + 20_000).map((r) => ({ ...r, name: r.name.repeat(20) })));
    expect((await w.close()).rowsWritten).toBe(n);
    expect(await rowsOf(`SELECT count(*)::int AS n FROM ${schema}.out`)).toEqual([{ n }]);
  });
});
