import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { QuarantineEntry, Row, TransformStage } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { validConfig } from '../../test/harness.ts';
import { sqlTransform } from './transform.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-sql-'));

interface Ran {
  rows: Row[];
  quarantined: QuarantineEntry[];
  warnings: string[];
}

/** Runs the transform as the flow does: every batch pushed, then `finish`, then `close`. */
async function runSql(config: Record<string, unknown>, batches: Row[][], signal?: AbortSignal): Promise<Ran> {
  const quarantined: QuarantineEntry[] = [];
  const warnings: string[] = [];
  const ignore = () => {};
  const stage = sqlTransform.create({
    config: validConfig(sqlTransform, config),
    signal: signal ?? new AbortController().signal,
    stepId: 'test',
    componentId: 'test.1:sql',
    baseDir: dir,
    tempDir: mkdtempSync(join(dir, 'tmp-')),
    params: {},
    log: { debug: ignore, info: ignore, warn: (m) => warnings.push(m), error: ignore },
    quarantine: (e) => quarantined.push(e),
  }) as TransformStage;
  const rows: Row[] = [];
  try {
    for (const b of batches) expect(await stage.push(b)).toEqual([]);
    for await (const b of stage.finish!()) rows.push(...b);
  } finally {
    await stage.close?.();
  }
  return { rows, quarantined, warnings };
}

const orders: Row[] = [
  { id: 1, customer: 'ann', country: 'FR', amount: 10.5, day: '2026-01-03' },
  { id: 2, customer: 'bob', country: 'DE', amount: 20, day: '2026-01-04' },
  { id: 3, customer: 'ann', country: 'FR', amount: 4.5, day: '2026-02-01' },
  { id: 4, customer: 'cid', country: 'US', amount: 100, day: '2026-02-07' },
];

describe('sql transform: queries', () => {
  it('aggregates with GROUP BY over rows pushed in several batches', async () => {
    const { rows } = await runSql(
      {
        query:
          'SELECT country, count(*) AS n, sum(amount) AS total FROM input GROUP BY country ORDER BY country',
      },
      [orders.slice(0, 1), orders.slice(1)],
    );
    expect(rows).toEqual([
      { country: 'DE', n: 1, total: 20 },
      { country: 'FR', n: 2, total: 15 },
      { country: 'US', n: 1, total: 100 },
    ]);
  });

  it('joins a named CSV file', async () => {
    const path = join(dir, 'countries.csv');
    writeFileSync(path, 'code,name\nFR,France\nDE,Germany\n');
    const { rows } = await runSql(
      {
        query:
          'SELECT c.name, sum(o.amount) AS total FROM input o LEFT JOIN countries c ON c.code = o.country ' +
          'GROUP BY ALL ORDER BY total',
        inputs: { countries: { path: 'countries.csv' } },
      },
      [orders],
    );
    expect(rows).toEqual([
      { name: 'France', total: 15 },
      { name: 'Germany', total: 20 },
      { name: null, total: 100 },
    ]);
  });

  it('runs window functions with QUALIFY and CTEs', async () => {
    const { rows } = await runSql(
      {
        query: `WITH ranked AS (
            SELECT customer, id, amount, sum(amount) OVER (PARTITION BY customer ORDER BY id) AS running
            FROM input)
          SELECT customer, id, running FROM ranked
          QUALIFY row_number() OVER (PARTITION BY customer ORDER BY id DESC) = 1
          ORDER BY customer`,
      },
      [orders],
    );
    expect(rows).toEqual([
      { customer: 'ann', id: 3, running: 15 },
      { customer: 'bob', id: 2, running: 20 },
      { customer: 'cid', id: 4, running: 100 },
    ]);
  });

  it("uses DuckDB's date, string, regex and JSON functions", async () => {
    const { rows } = await runSql(
      {
        query: `SELECT date_trunc('month', day::DATE)::DATE AS month, upper(customer) AS who,
                  regexp_extract(email, '@(.+)$', 1) AS domain, meta->>'$.tier' AS tier,
                  json_extract(meta, '$.tags[0]')::VARCHAR AS first_tag
                FROM input ORDER BY id`,
      },
      [
        [
          {
            id: 1,
            customer: 'ann',
            day: '2026-01-03',
            email: 'ann@example.com',
            meta: { tier: 'gold', tags: ['a'] },
          },
          {
            id: 2,
            customer: 'bob',
            day: '2026-02-14',
            email: 'bob@test.org',
            meta: { tier: 'basic', tags: [] },
          },
        ],
      ],
    );
    expect(rows).toEqual([
      { month: '2026-01-01', who: 'ANN', domain: 'example.com', tier: 'gold', first_tag: '"a"' },
      { month: '2026-02-01', who: 'BOB', domain: 'test.org', tier: 'basic', first_tag: null },
    ]);
  });
});

describe('sql transform: values', () => {
  it('gives back plain JS values for DuckDB types', async () => {
    const { rows } = await runSql(
      {
        query: `SELECT 9007199254740993::BIGINT AS big, 42::BIGINT AS small, 12.50::DECIMAL(10,2) AS dec,
          12345678901234567.89::DECIMAL(38,2) AS exact, DATE '2026-12-05' AS d,
          TIMESTAMP '2026-12-05 10:20:30.123456' AS ts, TIMESTAMPTZ '2026-12-05 10:20:30+00' AS tz,
          [1, 2, NULL] AS list, {'a': 1, 'b': [true]} AS struct, MAP {'k': 1.5} AS map,
          '{"x": [1, {"y": null}]}'::JSON AS json, 'ab'::BLOB AS blob, INTERVAL 1 DAY AS iv, obj
          FROM input`,
      },
      [[{ obj: { n: 1, s: 'x', list: [1, 'two'] } }]],
    );
    expect(rows).toEqual([
      {
        big: '9007199254740993',
        small: 42,
        dec: 12.5,
        exact: '12345678901234567.89',
        d: '2026-12-05',
        ts: '2026-12-05T10:20:30.123456Z',
        tz: '2026-12-05T10:20:30.000Z',
        list: [1, 2, null],
        struct: { a: 1, b: [true] },
        map: { k: 1.5 },
        json: { x: [1, { y: null }] },
        blob: 'YWI=',
        iv: '1 day',
        obj: { n: 1, s: 'x', list: [1, 'two'] },
      },
    ]);
  });

  it('types input columns from the values and widens them as later batches need', async () => {
    const { rows, quarantined } = await runSql(
      {
        query:
          'SELECT n, typeof(n) AS nt, v, typeof(v) AS vt, late, typeof(late) AS lt FROM input ORDER BY k',
      },
      [
        [
          { k: 1, n: 1, v: null },
          { k: 2, n: 2, v: true },
        ],
        [{ k: 3, n: 2.5, v: 'text', late: 10n ** 20n }],
        [{ k: 4, n: 12345678901234567890n, v: 7 }],
      ],
    );
    expect(quarantined).toEqual([]);
    expect(rows.map((r) => [r.n, r.v, r.late])).toEqual([
      [1, null, null],
      [2, 'true', null],
      [2.5, 'text', '100000000000000000000'],
      [12345678901234567000, '7', null],
    ]);
    expect(rows[0]).toMatchObject({ nt: 'DOUBLE', vt: 'VARCHAR', lt: 'HUGEINT' });
  });

  it('checks every row of a repeated shape: widening, a first value after nulls, refusals, new fields', async () => {
    const same = (k: number, n: unknown, s: unknown): Row => ({ k, n, s });
    const { rows, quarantined } = await runSql(
      { query: 'SELECT k, n, typeof(n) AS nt, s, typeof(s) AS st, x FROM input ORDER BY k' },
      [
        [same(1, 1, null), same(2, 2, null), same(3, 2.5, null), same(4, 10n ** 40n, 'a')],
        [same(5, 3, 'b'), { s: 'c', n: 4, k: 6 }, { k: 7, n: 5, s: 'd', x: 1 }, same(8, true, 'e')],
      ],
    );
    expect(quarantined.map((q) => q.row)).toEqual([same(4, 10n ** 40n, 'a')]);
    expect(rows.map((r) => [r.k, r.n, r.s, r.x])).toEqual([
      // Loaded as DOUBLE, then the column became VARCHAR: the same text as values loaded after
      // (JavaScript's), not DuckDB's cast of a double ('1.0').
      [1, '1', null, null],
      [2, '2', null, null],
      [3, '2.5', null, null],
      [5, '3', 'b', null],
      [6, '4', 'c', null],
      [7, '5', 'd', 1],
      [8, 'true', 'e', null],
    ]);
    expect(rows[0]).toMatchObject({ nt: 'VARCHAR', st: 'VARCHAR' });
  });

  it('quarantines rows that cannot be loaded, with the reason', async () => {
    const query = 'SELECT count(*) AS n, max(a) AS a, max(b) AS b FROM input';
    const { rows, quarantined } = await runSql({ query }, [
      [
        { b: 0, B: 1 },
        { a: 1, b: 5 },
        { a: 2, A: 3 },
        { a: 10n ** 40n },
        { a: () => 1 },
        { a: new Date(Number.NaN) },
      ],
    ]);
    expect(rows).toEqual([{ n: 1, a: 1, b: 5 }]);
    expect(quarantined.map((q) => q.reason)).toEqual([
      expect.stringMatching(/"B" and "b" differ only in case/),
      expect.stringMatching(/"a" and "A" differ only in case/),
      expect.stringMatching(/outside DuckDB's HUGEINT range/),
      expect.stringMatching(/a function has no SQL value/),
      expect.stringMatching(/an invalid Date/),
    ]);
    expect(quarantined[1]!.row).toEqual({ a: 2, A: 3 });
  });

  it('runs on an empty input: count(*) is 0; a query naming columns gives no rows, with a warning', async () => {
    expect((await runSql({ query: 'SELECT count(*) AS n FROM input' }, [])).rows).toEqual([{ n: 0 }]);
    const named = await runSql({ query: 'SELECT country, count(*) FROM input GROUP BY country' }, [[]]);
    expect(named.rows).toEqual([]);
    expect(named.warnings).toEqual([expect.stringMatching(/no rows reached/)]);
  });
});

describe('sql transform: errors', () => {
  it('reports a bad column at with.query with DuckDB message and position', async () => {
    const err = await runSql({ query: 'SELECT nope FROM input' }, [orders]).catch((e) => e);
    expect(err.issues).toEqual([
      {
        path: 'with.query',
        message: expect.stringMatching(/Binder Error.*nope[\s\S]*LINE 1: SELECT nope FROM input/),
      },
    ]);
  });

  it('fails the step on a failed cast, with the position', async () => {
    const err = await runSql({ query: 'SELECT customer::INTEGER AS n FROM input' }, [orders]).catch((e) => e);
    expect(err.code).toBe('TASK_FAILED');
    expect(err.message).toMatch(
      /^with\.query: .*Conversion Error: Could not convert string 'ann'[\s\S]*LINE 1/,
    );
  });

  it('refuses several statements, statements other than SELECT, and files outside the inputs', async () => {
    const several = await runSql({ query: 'SELECT 1; SELECT 2' }, [orders]).catch((e) => e);
    expect(several.issues[0]).toEqual({
      path: 'with.query',
      message: expect.stringMatching(/one SELECT statement, not 2/),
    });
    const copy = await runSql({ query: "COPY input TO '/tmp/x.csv'" }, [orders]).catch((e) => e);
    expect(copy.issues[0].message).toMatch(/only a SELECT/);
    const file = await runSql({ query: "SELECT * FROM read_csv('/etc/passwd')" }, [orders]).catch((e) => e);
    expect(file.message).toMatch(/Permission Error.*file system operations are disabled/);
  });
});

describe('sql transform: memory', () => {
  it('spills a GROUP BY larger than its memory limit to the temporary directory', async () => {
    // 600k distinct keys with a 40-character text each: the hash table is several times 32MB.
    const batches: Row[][] = [];
    for (let b = 0; b < 60; b++) {
      const rows: Row[] = [];
      for (let i = 0; i < 10_000; i++) rows.push({ k: b * 10_000 + i, pad: `${'x'.repeat(32)}${b}-${i}` });
      batches.push(rows);
    }
    const { rows } = await runSql(
      {
        query:
          'SELECT count(*) AS groups, sum(n) AS n FROM (SELECT k, pad, count(*) AS n FROM input GROUP BY k, pad)',
        memoryLimit: '32MB',
        threads: 1,
      },
      batches,
    );
    expect(rows).toEqual([{ groups: 600_000, n: 600_000 }]);
    // The same aggregation in a DuckDB with the same limit and nowhere to spill runs out of memory.
    const db = await DuckDBInstance.create(':memory:', {
      memory_limit: '32MB',
      threads: '1',
      temp_directory: '',
    });
    const conn = await db.connect();
    try {
      const query = `SELECT count(*) FROM (SELECT k, pad, count(*) FROM (SELECT i AS k,
        repeat('x', 32) || (i // 10000) || '-' || (i % 10000) AS pad FROM range(600000) t(i)) GROUP BY k, pad)`;
      await expect(conn.run(query)).rejects.toThrow(/Out of Memory/i);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  }, 60_000);
});

describe('sql transform: columns loaded', () => {
  const rows = [{ a: 1, b: 'x', c: { d: true } }];
  it('loads only the fields the query names, and every field when it reads them all', async () => {
    expect((await runSql({ query: 'SELECT a FROM input' }, [rows])).rows).toEqual([{ a: 1 }]);
    expect((await runSql({ query: 'SELECT * FROM input' }, [rows])).rows).toEqual(rows);
    expect((await runSql({ query: 'SELECT t AS row FROM input t' }, [rows])).rows).toEqual([
      { row: rows[0] },
    ]);
  });

  it('does not quarantine a row for a field the query does not read', async () => {
    const r = await runSql({ query: 'SELECT sum(a) AS s FROM input' }, [[{ a: 1, f: () => 0 }, { a: 2 }]]);
    expect(r).toMatchObject({ rows: [{ s: 3 }], quarantined: [] });
  });
});

describe('sql transform: named inputs', () => {
  it('fetches an http(s) input through the location layer into the temporary directory', async () => {
    const server = createServer((req, res) => {
      if (req.url !== '/codes.csv') return void res.writeHead(404).end();
      res
        .writeHead(200, { 'content-type': 'text/csv', 'content-length': '22' })
        .end('code,name\nFR,France\n\n\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const { rows } = await runSql(
        {
          query: 'SELECT o.id, c.name FROM input o JOIN codes c ON c.code = o.country ORDER BY o.id',
          inputs: { codes: { path: `http://127.0.0.1:${port}/codes.csv` } },
        },
        [orders],
      );
      expect(rows).toEqual([
        { id: 1, name: 'France' },
        { id: 3, name: 'France' },
      ]);
    } finally {
      server.close();
    }
  });

  it('says a dataset cannot be read where the run keeps none, naming the input', async () => {
    const err = await runSql({ query: 'SELECT * FROM a', inputs: { a: { dataset: 'airports' } } }, [
      orders,
    ]).catch((e) => e);
    expect(err.message).toMatch(
      /with\.inputs\.a\.dataset: dataset "airports" cannot be read here: this run keeps no datasets/,
    );
  });

  it('refuses an input without a path or a dataset, or named input', () => {
    const issues = (inputs: unknown) =>
      (() => {
        try {
          validConfig(sqlTransform, { query: 'SELECT 1', inputs });
          return [];
        } catch (e) {
          return (e as { issues: unknown[] }).issues;
        }
      })();
    expect(issues({ x: {} })).toEqual([
      { path: 'with.inputs.x', message: expect.stringMatching(/exactly one of/) },
    ]);
    expect(issues({ Input: { path: 'a.csv' } })).toEqual([
      { path: 'with.inputs.Input', message: expect.stringMatching(/"input" is the table of the rows/) },
    ]);
    expect(issues({ x: { path: 'a.txt' } })).toEqual([
      { path: 'with.inputs.x.path', message: expect.stringMatching(/cannot tell the format/) },
    ]);
  });
});

describe('sql transform: cancel', () => {
  it('interrupts a running query when the flow is aborted', async () => {
    const abort = new AbortController();
    const started = Date.now();
    setTimeout(() => abort.abort(), 500);
    // Hours of work: only the interrupt ends it.
    const query = 'SELECT count(*) AS n FROM input, range(100000000000) t(i) WHERE hash(i + id) = 7';
    const err = await runSql({ query, threads: 1 }, [orders], abort.signal).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err.message)).toMatch(/INTERRUPT|interrupted/i);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('sql transform: text, names and values a review found wrong', () => {
  it('gives a value the same text in a widened column wherever the batches end', async () => {
    const q = { query: 'SELECT x, count(*) AS n FROM input GROUP BY x ORDER BY x' };
    const rows: Row[] = [{ x: 2 }, { x: 2.5 }, { x: 2 }, { x: 'n/a' }];
    const together = await runSql(q, [rows]);
    const split = await runSql(q, [rows.slice(0, 2), rows.slice(2)]);
    expect(together.rows).toEqual([
      { x: '2', n: 2 },
      { x: '2.5', n: 1 },
      { x: 'n/a', n: 1 },
    ]);
    expect(split.rows).toEqual(together.rows);

    const q2 = { query: 'SELECT x, d FROM input' };
    const first: Row[] = [Number.NaN, Number.POSITIVE_INFINITY, -0, 1.5e-7].map((x) => ({
      x,
      d: new Date('2026-01-03T10:00:00Z'),
    }));
    const last: Row = { x: 'a', d: 'b' };
    const one = await runSql(q2, [[...first, last]]);
    const two = await runSql(q2, [first, [last]]);
    expect(one.rows.map((r) => r.x)).toEqual(['NaN', 'Infinity', '0', '1.5e-7', 'a']);
    expect(one.rows[0]!.d).toBe('2026-01-03T10:00:00.000Z');
    expect(two.rows).toEqual(one.rows);
  });

  it('names repeated result columns apart, and keeps __proto__ a field', async () => {
    writeFileSync(join(dir, 'countries_review.csv'), 'code,name\nFR,France\n');
    const joined = await runSql(
      {
        query: 'SELECT * FROM input o JOIN countries_review c ON c.code = o.country',
        inputs: { countries_review: { path: 'countries_review.csv' } },
      },
      [[{ name: 'ann', country: 'FR' }]],
    );
    expect(joined.rows).toEqual([{ name: 'ann', country: 'FR', code: 'FR', name_2: 'France' }]);
    expect(joined.warnings.join('\n')).toMatch(/repeats the name "name"; it is read as "name_2"/);

    const proto = await runSql({ query: "SELECT {'k': a} AS __proto__, a FROM input" }, [[{ a: 1 }]]);
    expect(Object.keys(proto.rows[0]!)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(proto.rows[0]!)).toBe(Object.prototype);
    const map = await runSql({ query: 'SELECT histogram(w) AS h FROM input' }, [
      [{ w: '__proto__' }, { w: 'x' }],
    ]);
    expect(Object.keys(map.rows[0]!.h as object).sort()).toEqual(['__proto__', 'x']);
  });

  it('keeps integers past 2^53 in JSON results, loads any Date and objects holding bigints', async () => {
    const { rows } = await runSql({ query: "SELECT to_json({'id': id}) AS j, to_json(id) AS n FROM input" }, [
      [{ id: 9007199254740993n }],
    ]);
    expect(rows).toEqual([{ j: { id: '9007199254740993' }, n: '9007199254740993' }]);
    const dates = await runSql({ query: 'SELECT year(d) AS y FROM input' }, [
      [{ d: new Date('+010000-01-01T00:00:00Z') }],
    ]);
    expect(dates.rows).toEqual([{ y: 10000 }]);
    const objects = await runSql({ query: "SELECT x->>'id' AS id FROM input" }, [[{ x: { id: 1n } }]]);
    expect(objects.rows).toEqual([{ id: '1' }]);
  });

  it('quarantines a field with an empty name; keeps fields apart that differ in non-ASCII case', async () => {
    const empty = await runSql({ query: 'SELECT * FROM input' }, [[{ '': 1, a: 2 }, { a: 3 }]]);
    expect(empty.quarantined.map((q) => q.reason)).toEqual([expect.stringMatching(/empty name/)]);
    expect(empty.rows).toEqual([{ a: 3 }]);
    const accents = await runSql({ query: 'SELECT * FROM input' }, [[{ É: 1, é: 2 }]]);
    expect(accents.quarantined).toEqual([]);
    expect(accents.rows).toEqual([{ É: 1, é: 2 }]);
  });

  it('leaves the placeholder column of rows without fields out of the result', async () => {
    expect((await runSql({ query: 'SELECT * FROM input' }, [[{}, {}]])).rows).toEqual([{}, {}]);
    const later = await runSql({ query: 'SELECT * FROM input' }, [[{}], [{ '#empty': 1 }]]);
    expect(later.rows).toEqual([{ '#empty': null }, { '#empty': 1 }]);
  });
});
