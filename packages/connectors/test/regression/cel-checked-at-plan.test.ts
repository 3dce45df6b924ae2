import { ConfigError, planPipeline, Registry } from '@sluice/core';
import { expect, it } from 'vitest';
import { builtinConnectors } from '../../src/index.ts';

// A filter or map expression that does not parse used to pass `sluice validate` and the API's
// validation, and fail only when a run reached it.
it('rejects an expression that is not CEL when the spec is checked, at its JSON path', () => {
  const spec = {
    name: 'typo',
    steps: [
      {
        id: 'load',
        flow: [
          { source: 'ndjson', with: { path: 'in.ndjson' } },
          { transform: 'filter', with: { where: 'amout >' } },
          { transform: 'map', with: { set: { total: 'amount * (quantity' } } },
          { sink: 'ndjson', with: { path: 'out.ndjson' } },
        ],
      },
    ],
  };
  const registry = new Registry().register(...builtinConnectors);
  let error: unknown;
  try {
    planPipeline(spec, { registry, env: {} });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const issues = (error as ConfigError).issues;
  expect(issues.map((i) => i.path)).toEqual([
    'steps[0].flow[1].with.where',
    'steps[0].flow[2].with.set.total',
  ]);
  expect(issues[0]!.message).toMatch(/invalid CEL expression "amout >"/);
  // A valid expression still passes.
  spec.steps[0]!.flow[1]!.with = { where: 'amount > 1' };
  spec.steps[0]!.flow[2]!.with = { set: { total: 'amount * quantity' } };
  expect(() => planPipeline(spec, { registry, env: {} })).not.toThrow();
});

// Issue 13 (fuzzing): 3,000 chained additions overflowed the stack while the spec was checked
// (an issue at "(root)" saying "Maximum call stack size exceeded"); 5,000 negations passed the
// check and failed the run as INTERNAL. Both are refused at the expression's path.
it('refuses an expression nested deeper than the limit at its path, and runs one just under it', () => {
  const registry = new Registry().register(...builtinConnectors);
  const spec = (where: string) => ({
    name: 'deep',
    flow: [
      { source: 'ndjson', with: { path: 'in.ndjson' } },
      { transform: 'filter', with: { where } },
      { sink: 'ndjson', with: { path: 'out.ndjson' } },
    ],
  });
  for (const where of [
    `${'a + '.repeat(3000)}1 > 0`,
    `${'!'.repeat(5000)}true`,
    `${'-'.repeat(5000)}1 == 1`,
  ]) {
    let error: unknown;
    try {
      planPipeline(spec(where), { registry, env: {} });
    } catch (err) {
      error = err;
    }
    expect(error, where.slice(0, 20)).toBeInstanceOf(ConfigError);
    const [issue] = (error as ConfigError).issues;
    expect(issue!.path).toBe('flow[1].with.where');
    expect(issue!.message).toMatch(/nested deeper than 250 levels/);
    expect(issue!.message.length).toBeLessThan(400);
  }
  expect(() => planPipeline(spec(`${'a + '.repeat(200)}1 > 0`), { registry, env: {} })).not.toThrow();
});
