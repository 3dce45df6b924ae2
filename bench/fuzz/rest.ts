/**
 * REST requests generated from the server's own OpenAPI document (/api/v1/openapi.json): a value
 * each schema accepts, then mutated (hostile.ts), with path and query parameters that are valid,
 * hostile, or badly percent-encoded, sent as any role or none.
 */
import fc from 'fast-check';
import { hostileString, hostileValue, type Mutation, mutate, mutation, toJsonText } from './hostile.ts';

export type Role = 'admin' | 'operator' | 'viewer' | 'none' | 'forged';
export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer', 'none', 'forged'];

/** A JSON Schema as the document has them (inline: @fastify/swagger writes no $ref here). */
export type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
};

interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  schema?: Schema;
  required?: boolean;
}

export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  /** The template, e.g. `/api/v1/jobs/{id}`. */
  path: string;
  params: Parameter[];
  body?: Schema;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: RequestBody }>>;
}
type RequestBody = { content?: Record<string, { schema?: Schema }> };

/** Every operation of the document; `/metrics` (Prometheus text, no JSON errors) stays out. */
export function operations(doc: OpenApiDocument): Operation[] {
  const ops: Operation[] = [];
  for (const [path, byMethod] of Object.entries(doc.paths)) {
    if (path === '/metrics') continue;
    for (const [method, op] of Object.entries(byMethod)) {
      const body = op.requestBody?.content?.['application/json']?.schema;
      ops.push({
        method: method.toUpperCase() as Operation['method'],
        path,
        params: op.parameters ?? [],
        ...(body ? { body } : {}),
      });
    }
  }
  return ops;
}

const uuid = fc.uuid({ version: 4 });

function stringFor(s: Schema): fc.Arbitrary<string> {
  if (s.format === 'uuid') return uuid;
  if (s.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
  const max = Math.min(s.maxLength ?? 20, 20);
  const min = Math.min(s.minLength ?? 0, max);
  if (s.pattern && s.pattern !== '^[^\\u0000]*$') {
    try {
      return fc
        .stringMatching(new RegExp(s.pattern))
        .filter((x) => x.length >= min && x.length <= (s.maxLength ?? Number.POSITIVE_INFINITY));
    } catch {
      // A pattern fast-check cannot invert: plain strings, which the server may refuse (fine).
    }
  }
  return fc.string({ minLength: min, maxLength: max });
}

/** A value the schema accepts (best effort: the mutations matter more than exactness). */
export function valueFor(s: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!s || depth > 6) return fc.jsonValue({ maxDepth: 2 });
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const union = s.anyOf ?? s.oneOf;
  if (union) return fc.oneof(...union.map((b) => valueFor(b, depth + 1)));
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      return stringFor(s);
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1_000, max: s.maximum ?? 1_000 });
    case 'number':
      return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(valueFor(s.items, depth + 1), { minLength: s.minItems ?? 0, maxLength: 3 });
    case 'object': {
      const props = s.properties ?? {};
      const required = new Set(s.required ?? []);
      const keys = Object.keys(props);
      if (keys.length === 0)
        return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
      return fc.record(Object.fromEntries(keys.map((k) => [k, valueFor(props[k], depth + 1)])), {
        requiredKeys: keys.filter((k) => required.has(k)),
      });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Ids of things that exist on the platform under test, so requests reach past "not found". */
export type KnownIds = Partial<Record<string, string[]>>;

/** Percent-encodes every byte of the UTF-8 text but the unreserved ones (lone surrogates: U+FFFD). */
export function percentEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Bytes no URL decoder accepts, or decodes to something hostile. */
const BAD_ENCODINGS = [
  '%zz',
  '%',
  '%E0%A4%A',
  '%C0%AF',
  '%FF',
  '%00',
  '%u0041',
  '%%',
  '%2',
  '..%2F..%2Fetc%2Fpasswd',
];

/** How a parameter's text reaches the URL: encoded, or raw percent-junk spliced in. */
const paramText = (valid: fc.Arbitrary<unknown>, known: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: valid.map((v) => percentEncode(typeof v === 'string' ? v : JSON.stringify(v))) },
    ...(known.length > 0 ? [{ weight: 4, arbitrary: fc.constantFrom(...known) }] : []),
    { weight: 3, arbitrary: hostileString.map(percentEncode) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '1e400',
        'Infinity',
        '-Infinity',
        'NaN',
        '-1',
        '1.5',
        '1e308',
        '0x10',
        '',
        '%20',
        '+',
      ),
    },
    { weight: 2, arbitrary: fc.constantFrom(...BAD_ENCODINGS) },
  );

/** Which known ids a path's `{id}` names: `/api/v1/jobs/{id}` → jobs. */
function resourceOf(path: string, param: string): string {
  const parts = path.split('/');
  const i = parts.indexOf(`{${param}}`);
  return param === 'id' ? (parts[i - 1] ?? '') : param;
}

export interface FuzzRequest {
  method: string;
  /** Path and query string, exactly as sent (possibly invalid percent-encoding). */
  url: string;
  role: Role;
  /** The body's text (invalid UTF-8 as a Buffer); absent for no body. */
  body?: string | Buffer;
  contentType?: string;
  /** The route template, for grouping findings. */
  route: string;
}

/** Body text: the schema's value mutated, or broken JSON, or the wrong content type. */
function bodyFor(op: Operation): fc.Arbitrary<Pick<FuzzRequest, 'body' | 'contentType'>> {
  const valid = valueFor(op.body);
  const json = (v: unknown) => ({ body: toJsonText(v), contentType: 'application/json' });
  return fc.oneof(
    { weight: 2, arbitrary: valid.map(json) },
    {
      weight: 8,
      arbitrary: fc
        .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 }))
        .map(([v, ms]: [unknown, Mutation[]]) => json(mutate(v, ms))),
    },
    { weight: 1, arbitrary: hostileValue.map(json) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { body: '{"a":', contentType: 'application/json' },
        { body: '', contentType: 'application/json' },
        { body: '{} trailing', contentType: 'application/json' },
        { body: "{'single': 1}", contentType: 'application/json' },
        {
          body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
          contentType: 'application/json',
        },
        { body: 'a,b\n1,2', contentType: 'text/csv' },
        { body: '{}', contentType: 'application/json; charset=latin1' },
        { body: '<x/>', contentType: 'application/xml' },
      ),
    },
  );
}

/** One request to one operation of the document. */
export function requestFor(op: Operation, known: KnownIds): fc.Arbitrary<FuzzRequest> {
  const path = op.params.filter((p) => p.in === 'path');
  const query = op.params.filter((p) => p.in === 'query');
  const pathArb = fc.tuple(
    ...path.map((p) => paramText(valueFor(p.schema), known[resourceOf(op.path, p.name)] ?? [])),
  );
  const queryArb = fc.array(
    fc
      .oneof(
        {
          weight: 5,
          arbitrary: fc.constantFrom(...(query.length > 0 ? query : [{ name: 'q', in: 'query' as const }])),
        },
        { weight: 1, arbitrary: fc.constant({ name: 'bogus', in: 'query' as const }) },
      )
      .chain((p) =>
        paramText(valueFor((p as Parameter).schema), []).map((v) => `${percentEncode(p.name)}=${v}`),
      ),
    { maxLength: 4 },
  );
  const hasBody = op.method !== 'GET' && op.method !== 'DELETE';
  return fc
    .record({
      values: pathArb,
      query: queryArb,
      role: fc.constantFrom(...ROLES),
      body: hasBody ? fc.option(bodyFor(op), { freq: 6 }) : fc.constant(null),
    })
    .map(({ values, query, role, body }) => {
      let i = 0;
      const filled = op.path.replace(/\{[^}]+\}/g, () => values[i++] ?? '');
      return {
        method: op.method,
        url: query.length > 0 ? `${filled}?${query.join('&')}` : filled,
        role,
        route: `${op.method} ${op.path}`,
        ...(body ?? {}),
      };
    });
}

/** Requests over every operation of the document (plus routes it does not have). */
export function restRequest(ops: readonly Operation[], known: KnownIds): fc.Arbitrary<FuzzRequest> {
  const unknown: fc.Arbitrary<FuzzRequest> = fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PATCH', 'OPTIONS', 'DELETE'),
      tail: paramText(fc.string({ maxLength: 10 }), []),
      role: fc.constantFrom(...ROLES),
    })
    .map(({ method, tail, role }) => ({
      method,
      url: `/api/v1/${tail}`,
      role,
      route: `${method} /api/v1/<unknown>`,
    }));
  return fc.oneof(
    { weight: 30, arbitrary: fc.oneof(...ops.map((op) => requestFor(op, known))) },
    { weight: 1, arbitrary: unknown },
  );
}

/** The request's text, for "the answer only echoes what was sent" and for reproducers. */
export function requestText(r: FuzzRequest): string {
  let url = r.url;
  try {
    url = decodeURIComponent(r.url);
  } catch {
    // Undecodable: the raw text is what the server saw.
  }
  const body = r.body === undefined ? '' : Buffer.isBuffer(r.body) ? r.body.toString('latin1') : r.body;
  return `${r.url}\n${url}\n${body}`;
}
