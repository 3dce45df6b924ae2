import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { compileRowValidator, userSchemaIssues } from './validate.ts';

describe('userSchemaIssues', () => {
  it('accepts a valid schema, patterns and formats included', () => {
    const schema = {
      type: 'object',
      properties: { code: { type: 'string', pattern: '^[A-Z]{3}-\\d+$' }, at: { format: 'date-time' } },
      patternProperties: { '^x-': { type: 'string' } },
      definitions: { n: { type: 'number' } },
      additionalProperties: { $ref: '#/definitions/n' },
    };
    expect(userSchemaIssues(schema, 'with.schema')).toEqual([]);
  });

  it('reports an error per item of a long array without overflowing the stack', () => {
    // Found by the platform fuzz: `type: [0, 0, …]` of 200,000 items was "Maximum call stack size exceeded".
    const issues = userSchemaIssues({ type: Array(200_000).fill(0) }, 'parameters');
    expect(issues).toHaveLength(200_000);
    expect(issues[199_999]).toEqual({
      path: 'parameters.type[199999]',
      message: 'must be one of: array, boolean, integer, null, number, object, string',
    });
  });

  it('reports unknown formats of a long array of schemas, each at its path', () => {
    const issues = userSchemaIssues(
      { items: Array.from({ length: 200_000 }, () => ({ format: 'nope' })) },
      'parameters',
    );
    expect(issues).toHaveLength(200_000);
    expect(issues[199_999]!.path).toBe('parameters.items[199999].format');
  });

  it('reports what the meta-schema refuses at its path', () => {
    const issues = userSchemaIssues(
      {
        type: 'object',
        properties: { a: { type: 'bogus' }, b: { minimum: 'x' }, c: { type: ['string', 'nope'] } },
      },
      'parameters',
    );
    expect(issues).toEqual([
      {
        path: 'parameters.properties.a.type',
        message: 'must be array or one of: array, boolean, integer, null, number, object, string',
      },
      { path: 'parameters.properties.b.minimum', message: 'must be number' },
      {
        path: 'parameters.properties.c.type[1]',
        message: 'must be one of: array, boolean, integer, null, number, object, string',
      },
    ]);
  });

  it('reports patterns RE2 cannot run, keys of patternProperties included', () => {
    const issues = userSchemaIssues(
      { properties: { a: { pattern: '(\\w)\\1' } }, patternProperties: { '(?<!x)y': {} } },
      'with.schema',
    );
    expect(issues.map((i) => i.path)).toEqual([
      'with.schema.properties.a.pattern',
      'with.schema.patternProperties["(?<!x)y"]',
    ]);
    expect(issues[0]!.message).toMatch(/backreferences .* not supported: patterns use RE2 syntax/);
    expect(issues[1]!.message).toMatch(/lookahead and lookbehind/);
  });

  it('reports an unresolvable $ref where it is written, and an unknown $schema', () => {
    expect(userSchemaIssues({ items: { $ref: 'other.json#/x' } }, 'parameters')).toEqual([
      {
        path: 'parameters.items.$ref',
        message: expect.stringMatching(/^cannot resolve \$ref "other\.json#\/x": point it at a definition/),
      },
    ]);
    expect(userSchemaIssues({ $schema: 'https://json-schema.org/draft/2020-12/schema' }, 'p')).toEqual([
      { path: 'p.$schema', message: expect.stringMatching(/^unknown meta-schema .*draft-07/) },
    ]);
  });

  it('lets two schemas share an $id: a checked schema is not kept', () => {
    const a = { $id: 'https://example.com/row', type: 'object' };
    expect(userSchemaIssues(a, 's')).toEqual([]);
    expect(userSchemaIssues({ ...a }, 's')).toEqual([]);
    expect(compileRowValidator({ ...a })({})).toBeNull();
    expect(compileRowValidator({ ...a, required: ['x'] })({})).toBe('(row): missing required property "x"');
  });
});

describe('compileRowValidator', () => {
  it('checks pattern, patternProperties and formats on RE2 and ajv-formats', () => {
    const check = compileRowValidator({
      type: 'object',
      properties: { code: { type: 'string', pattern: '^[A-Z]{3}-\\d+$' }, email: { format: 'email' } },
      patternProperties: { '^x-': { type: 'string' } },
    });
    expect(check({ code: 'ABC-1', email: 'a@example.com', 'x-a': 'b' })).toBeNull();
    expect(check({ code: 'abc', email: 'nope', 'x-a': 1 })).toBe(
      'code: must match pattern "^[A-Z]{3}-\\d+$"; email: must match format "email"; x-a: must be string',
    );
  });

  it('throws a ConfigError with every problem at its path', () => {
    let error: unknown;
    try {
      compileRowValidator({ properties: { a: { type: 'bogus' } } }, 'with.schema');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['with.schema.properties.a.type']);
  });
});
