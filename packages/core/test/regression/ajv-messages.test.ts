import { describe, expect, it } from 'vitest';
import { ConfigError, ErrorCode, planPipeline } from '../../src/index.ts';
import { testRegistry } from '../helpers/connectors.ts';

// Ajv's errors reached users as they were: a union of literals printed "must be equal to
// constant" once per literal plus "must match a schema in anyOf", and a parameter schema that was
// not valid JSON Schema gave one message at (root) ("data/properties/a/type must be equal to one
// of the allowed values") or, for a $ref to nowhere, an INTERNAL error.
function problems(doc: unknown): ConfigError {
  try {
    planPipeline(doc, { registry: testRegistry(), env: {} });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('the spec was accepted');
}
const sink = { sink: 'json-table', with: { path: 'out.json' } };

describe('validation messages', () => {
  it('say once which values a union of literals allows', () => {
    const err = problems({
      name: 'u',
      flow: [{ source: 'count', with: { rows: 1, failWith: 'sometimes' } }, sink],
    });
    expect(err.issues).toEqual([
      { path: 'flow[0].with.failWith', message: 'step "main": must be one of: fatal, retryable' },
    ]);
  });

  it('report the closest branch of a union, not all of them', () => {
    const err = problems({
      name: 'u',
      timeout: '10 minutes',
      flow: [{ source: 'count', with: { rows: 1 } }, sink],
    });
    expect(err.code).toBe(ErrorCode.SPEC);
    expect(err.issues).toEqual([
      { path: 'timeout', message: 'must match pattern "^\\d+(\\.\\d+)?(ms|s|m|h)$"' },
    ]);
  });

  it('put a problem inside a parameter schema at its path', () => {
    const err = problems({
      name: 'p',
      parameters: { type: 'object', properties: { a: { type: 'bogus' } } },
      flow: [{ source: 'count', with: { rows: 1 } }, sink],
    });
    expect(err.code).toBe(ErrorCode.SPEC);
    expect(err.issues).toEqual([
      {
        path: 'parameters.properties.a.type',
        message: 'must be array or one of: array, boolean, integer, null, number, object, string',
      },
    ]);
  });

  it('put an unresolvable $ref of a parameter schema at its path, as SPEC_INVALID', () => {
    const err = problems({
      name: 'p',
      parameters: { type: 'object', properties: { a: { $ref: '#/definitions/missing' } } },
      flow: [{ source: 'count', with: { rows: 1 } }, sink],
    });
    expect(err.code).toBe(ErrorCode.SPEC);
    expect(err.issues).toEqual([
      {
        path: 'parameters.properties.a.$ref',
        message: expect.stringMatching(/^cannot resolve \$ref "#\/definitions\/missing"/),
      },
    ]);
  });
});
