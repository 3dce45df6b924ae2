import { expect, it } from 'vitest';
import { planPipeline } from '../../src/index.ts';
import { testRegistry } from '../helpers/connectors.ts';

// Ajv kept every schema it compiled, users' parameter schemas included, for the life of the process:
// the second check of a pipeline whose `parameters` has an `$id` (the platform checks a pipeline on
// save, on each run and each schedule) threw "schema with key or id ... already exists", INTERNAL.
it('checks a parameter schema with an $id more than once', () => {
  const spec = {
    name: 'with-id',
    parameters: {
      $id: 'https://example.com/params.json',
      type: 'object',
      properties: { limit: { type: 'integer', default: 10 } },
    },
    flow: [
      { source: 'count', with: { rows: '${params.limit}' } },
      { sink: 'json-table', with: { path: 'out.json' } },
    ],
  };
  for (let i = 0; i < 3; i++) {
    expect(planPipeline(spec, { registry: testRegistry(), env: {} }).params).toEqual({ limit: 10 });
  }
});
