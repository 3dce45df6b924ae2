import { expect, it } from 'vitest';
import { ConfigError, planPipeline } from '../../src/index.ts';
import { testRegistry } from '../helpers/connectors.ts';

// Issue 13 (fuzzing): an unknown `format` in a parameter schema passed every check (Ajv ignores
// it), so a typo checked nothing, and each check wrote "unknown format ignored" to the server's
// stderr, outside its log. It is a problem at its path; a `format` inside data is not.
it('refuses an unknown format at its path, and reads format keys in data as data', () => {
  const spec = (p: object) => ({
    name: 'formats',
    parameters: { type: 'object', properties: { p } },
    flow: [
      { source: 'count', with: { rows: 1 } },
      { sink: 'json-table', with: { path: 'out.json' } },
    ],
  });
  let error: unknown;
  try {
    planPipeline(spec({ type: 'string', format: 'emial', default: 'a@b.c' }), {
      registry: testRegistry(),
      env: {},
    });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).issues).toEqual([
    {
      path: 'parameters.properties.p.format',
      message: expect.stringMatching(/^unknown format "emial": use one of .*email/),
    },
  ]);
  const data = { type: 'object', default: { format: 'not-a-format' }, enum: [{ format: 'not-a-format' }] };
  expect(() => planPipeline(spec(data), { registry: testRegistry(), env: {} })).not.toThrow();
  const known = { type: 'string', format: 'email', default: 'a@b.c' };
  expect(() => planPipeline(spec(known), { registry: testRegistry(), env: {} })).not.toThrow();
});
