import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { ajvIssues } from './ajv-issues.ts';

const all = new Ajv({ allErrors: true, strict: false });
// Fastify's instance stops at the first failing keyword.
const first = new Ajv({ allErrors: false, strict: false });

function issues(ajv: Ajv, schema: object, data: unknown, base = '') {
  const fn = ajv.compile(schema);
  expect(fn(data)).toBe(false);
  return ajvIssues(fn.errors, base);
}

const Role = Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer')]);
const Duration = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: '^\\d+(ms|s)$' })]);

describe.each([
  ['allErrors', all],
  ['first error', first],
])('ajvIssues (%s)', (_name, ajv) => {
  it('says once which literals a union allows', () => {
    expect(issues(ajv, Type.Object({ role: Role }), { role: 'root' }, 'body')).toEqual([
      { path: 'body.role', message: 'must be one of: admin, operator, viewer' },
    ]);
    expect(issues(ajv, Type.Object({ role: Role }), { role: 5 })).toEqual([
      { path: 'role', message: 'must be one of: admin, operator, viewer' },
    ]);
  });

  it('reports the branch that came closest, without the union line', () => {
    const s = Type.Object({ timeout: Duration });
    expect(issues(ajv, s, { timeout: '5 minutes' })).toEqual([
      { path: 'timeout', message: 'must match pattern "^\\d+(ms|s)$"' },
    ]);
    expect(issues(ajv, s, { timeout: -1 })).toEqual([{ path: 'timeout', message: 'must be >= 0' }]);
    expect(issues(ajv, s, { timeout: true })).toEqual([
      { path: 'timeout', message: 'must be integer or string' },
    ]);
  });

  it('prefers the branch whose errors go deepest into the value', () => {
    const s = Type.Union([Type.Literal('none'), Type.Object({ every: Type.Integer() })]);
    expect(issues(ajv, s, { every: 'x' }, 'querystring')).toEqual([
      { path: 'querystring.every', message: 'must be integer' },
    ]);
    expect(issues(ajv, s, 'some')).toEqual([{ path: '(root)', message: 'must be object or "none"' }]);
  });

  it('flattens nested unions of literals', () => {
    const s = Type.Object({ k: Type.Union([Role, Type.Literal('owner'), Type.Null()]) });
    expect(issues(ajv, s, { k: 'x' })).toEqual([
      { path: 'k', message: 'must be null or one of: admin, operator, viewer, owner' },
    ]);
  });

  it('names a missing or unknown property and quotes odd names', () => {
    const s = Type.Object({ a: Type.String() }, { additionalProperties: false });
    expect(issues(ajv, s, { a: 'x', 'b c': 1 }, 'body')).toEqual([
      { path: 'body', message: 'unknown property "b c"' },
    ]);
    expect(issues(ajv, Type.Object({ items: Type.Array(s) }), { items: [{}] })).toEqual([
      { path: 'items[0]', message: 'missing required property "a"' },
    ]);
  });
});

describe('ajvIssues', () => {
  it('says when a value fits more than one branch of a oneOf', () => {
    const s = { oneOf: [{ type: 'integer' }, { minimum: 0 }] };
    expect(issues(all, s, 3)).toEqual([
      {
        path: '(root)',
        message:
          'matches more than one of the allowed forms (oneOf branches 0 and 1); it must match exactly one',
      },
    ]);
  });

  it('groups the errors of a branch that is a $ref', () => {
    const s = {
      definitions: { kinds: { enum: ['a', 'b'] } },
      properties: {
        type: {
          anyOf: [{ $ref: '#/definitions/kinds' }, { type: 'array', items: { $ref: '#/definitions/kinds' } }],
        },
      },
    };
    expect(issues(all, s, { type: 'c' })).toEqual([
      { path: 'type', message: 'must be array or one of: a, b' },
    ]);
    expect(issues(all, s, { type: ['a', 'c'] })).toEqual([
      { path: 'type[1]', message: 'must be one of: a, b' },
    ]);
  });

  it('keeps a sibling keyword of the union apart from its branches', () => {
    const s = {
      properties: { x: { enum: ['a', 'b', 3], anyOf: [{ type: 'string' }, { type: 'integer' }] } },
    };
    const found = issues(all, s, { x: true });
    expect(found).toEqual([
      { path: 'x', message: 'must be one of: a, b, 3' },
      { path: 'x', message: 'must be string or integer' },
    ]);
  });

  it('drops if/then summaries and repeated lines', () => {
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable.
    const s = { if: { required: ['a'] }, then: { required: ['b'] } };
    expect(issues(all, s, { a: 1 })).toEqual([{ path: '(root)', message: 'missing required property "b"' }]);
  });

  it('can put a missing property at its own path, as the platform API does', () => {
    const s = Type.Object({ spec: Type.Object({ name: Type.String() }) });
    const fn = first.compile(s);
    fn({ spec: {} });
    expect(ajvIssues(fn.errors, 'body', { missingAtProperty: true })).toEqual([
      { path: 'body.spec.name', message: 'is required' },
    ]);
  });

  it("reads Fastify's validation errors, plain objects of the same shape", () => {
    const validation = [
      {
        keyword: 'const',
        instancePath: '/role',
        schemaPath: '#/properties/role/anyOf/0/const',
        params: { allowedValue: 'admin' },
        message: 'must be equal to constant',
      },
      {
        keyword: 'const',
        instancePath: '/role',
        schemaPath: '#/properties/role/anyOf/1/const',
        params: { allowedValue: 'viewer' },
        message: 'must be equal to constant',
      },
      {
        keyword: 'anyOf',
        instancePath: '/role',
        schemaPath: '#/properties/role/anyOf',
        params: {},
        message: 'must match a schema in anyOf',
      },
    ];
    expect(ajvIssues(validation, 'body')).toEqual([
      { path: 'body.role', message: 'must be one of: admin, viewer' },
    ]);
  });

  it('accepts no errors', () => {
    expect(ajvIssues(null)).toEqual([]);
    expect(ajvIssues(undefined, 'body')).toEqual([]);
  });
});
