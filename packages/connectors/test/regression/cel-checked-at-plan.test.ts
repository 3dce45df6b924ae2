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
