import { ConfigError, planPipeline, Registry } from '@sluice/core';
import { expect, it } from 'vitest';
import { builtinConnectors } from '../../src/index.ts';

// `sluice validate` passed specs that `run` refused before reading a row (a cast format it cannot
// read, two fields renamed to one name, a CSV delimiter equal to its quote, a PostgreSQL source
// with both query and table): the checks lived in `create`, `read` and `open`. Planning now runs
// each component's own checks, so validate, run and the platform's API refuse the same specs.
const registry = new Registry().register(...builtinConnectors);

function issuesOf(flow: object[]): { path: string; message: string }[] {
  try {
    planPipeline({ name: 'checks', steps: [{ id: 'load', flow }] }, { registry, env: {} });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  return [];
}

it('refuses at plan time what the components refuse at run time, at each JSON path', () => {
  const issues = issuesOf([
    { source: 'csv', with: { path: 'in.csv', delimiter: ';', quote: ';' } },
    { transform: 'cast', with: { fields: { d: { type: 'date', format: 'MMM DD YYYY' } } } },
    { transform: 'map', with: { rename: { a: 'x', b: 'x' } } },
    { transform: 'select', with: { fields: ['a'], rename: { b: 'c' } } },
    { sink: 'csv', with: { path: 'out.csv', delimiter: '"' } },
    { sink: 'ndjson', with: { path: 'out.ndjson.gz', compression: 'zstd' } },
  ]);
  expect(issues.map((i) => i.path)).toEqual([
    'steps[0].flow[0].with.quote',
    'steps[0].flow[1].with.fields.d.format',
    'steps[0].flow[2].with.rename.b',
    'steps[0].flow[3].with.rename.b',
    'steps[0].flow[4].with.delimiter',
    'steps[0].flow[5].with.compression',
  ]);
  expect(issues[1]!.message).toMatch(/step "load": invalid date format "MMM DD YYYY"/);
  expect(issues[2]!.message).toMatch(/"b" and "a" are both renamed to "x"/);
});

it('refuses a PostgreSQL source that gives both query and table before connecting', () => {
  const issues = issuesOf([
    { source: 'postgres', with: { url: 'postgres://nowhere.invalid/db', query: 'select 1', table: 't' } },
    { sink: 'ndjson', with: { path: 'out.ndjson' } },
  ]);
  expect(issues).toEqual([
    {
      path: 'steps[0].flow[0].with.query',
      message: 'step "load": give either query (SQL) or table, not both and not neither',
    },
  ]);
});

it('still passes a spec whose components accept their configs', () => {
  expect(
    issuesOf([
      { source: 'csv', with: { path: 'in.csv' } },
      { transform: 'cast', with: { fields: { d: { type: 'date', format: 'DD/MM/YYYY' } } } },
      { transform: 'map', with: { rename: { a: 'x' } } },
      { sink: 'csv', with: { path: 'out.csv', delimiter: ';' } },
    ]),
  ).toEqual([]);
});
