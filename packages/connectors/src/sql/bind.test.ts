import { ConfigError, checkDeferred, planPipeline } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../registry.ts';

const registry = createRegistry();

/** The issues `sluice validate` would print for a flow of these components, or [] when none. */
async function issuesOf(flow: Record<string, unknown>[]): Promise<{ path: string; message: string }[]> {
  const plan = planPipeline({ name: 'bind', flow }, { registry });
  try {
    await checkDeferred(plan);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => ({ path: i.path, message: i.message }));
  }
}

const declared = {
  source: 'csv',
  with: { path: 'in.csv', columns: ['country', 'amount'], schema: { amount: 'number' } },
};
const sink = { sink: 'ndjson', with: { path: 'out.ndjson' } };
const sql = (query: string) => ({ transform: 'sql', with: { query } });

// DuckDB starts in-process for each check.
describe('the sql query bound against the columns the spec declares', { timeout: 30_000 }, () => {
  it("names a misspelt column at with.query, with DuckDB's candidates and the known columns", async () => {
    const issues = await issuesOf([
      declared,
      sql('SELECT countryy, sum(amount) FROM input GROUP BY 1'),
      sink,
    ]);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('flow[1].with.query');
    expect(issues[0]!.message).toMatch(/Referenced column "countryy" not found/);
    expect(issues[0]!.message).toMatch(/Candidate bindings: "country"/);
    expect(issues[0]!.message).toMatch(/country \(string\), amount \(number\)/);
  });

  it('refuses a function over a type the column will hold when every type is known', async () => {
    // country is text (csv without a schema type): summing it fails when the flow runs, so here.
    const issues = await issuesOf([declared, sql('SELECT sum(country) FROM input'), sink]);
    expect(issues[0]?.message).toMatch(/sum\(VARCHAR\)/);
  });

  it('accepts a query that binds, and follows the columns through select, rename, cast and aggregate', async () => {
    expect(
      await issuesOf([declared, sql('SELECT country, sum(amount) AS total FROM input GROUP BY 1'), sink]),
    ).toEqual([]);
    const chain = [
      declared,
      { transform: 'rename', with: { fields: { country: 'land' } } },
      {
        transform: 'aggregate',
        with: { groupBy: ['land'], fields: { n: { op: 'count' }, s: { op: 'sum', field: 'amount' } } },
      },
    ];
    expect(await issuesOf([...chain, sql('SELECT land, n * 2 AS twice, s FROM input'), sink])).toEqual([]);
    const after = await issuesOf([...chain, sql('SELECT country FROM input'), sink]);
    expect(after[0]?.message).toMatch(
      /"country" not found[\s\S]*land \(string\), n \(integer\), s \(number\)/,
    );
  });

  it('binds names only when a type is unknown, and nothing when the columns are (a header)', async () => {
    const untyped = {
      source: 'postgres',
      with: { url: 'postgres://h/db', table: 't', columns: ['id', 'note'] },
    };
    // id's type is unknown: a sum over it is not refused, a missing name is.
    expect(await issuesOf([untyped, sql('SELECT sum(id) FROM input'), sink])).toEqual([]);
    expect((await issuesOf([untyped, sql('SELECT idd FROM input'), sink]))[0]?.message).toMatch(
      /"idd" not found/,
    );
    const header = { source: 'csv', with: { path: 'in.csv' } };
    expect(await issuesOf([header, sql('SELECT anything FROM input'), sink])).toEqual([]);
    // A transform without a columns hook (flatten) leaves them unknown after it.
    expect(
      await issuesOf([declared, { transform: 'flatten', with: {} }, sql('SELECT nope FROM input'), sink]),
    ).toEqual([]);
  });

  it('leaves a query with named inputs to the run, whose files give their columns', async () => {
    const joined = {
      transform: 'sql',
      with: {
        query: 'SELECT x.nope FROM input JOIN other x USING (country)',
        inputs: { other: { path: 'o.csv' } },
      },
    };
    expect(await issuesOf([declared, joined, sink])).toEqual([]);
  });
});
