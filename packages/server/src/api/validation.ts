import { isUtf8 } from 'node:buffer';
import { ErrorCode, type Issue, SluiceError } from '@sluice/core';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

const shared = { allErrors: true, useDefaults: true, removeAdditional: false, strict: false } as const;

/**
 * Two compilers: a JSON body arrives typed, so `name: 42` is refused where a string is required
 * (coercion would store "42"); query strings and path parameters are text and must be coerced.
 */
const bodyAjv = addFormats(new Ajv({ ...shared, coerceTypes: false }));
const textAjv = addFormats(new Ajv({ ...shared, coerceTypes: 'array' }));
// Handlers pass the query on to services: parameters a route does not declare are dropped, so
// none reaches a query undocumented and unchecked (`/dlq?from=not-a-date` did).
const queryAjv = addFormats(new Ajv({ ...shared, coerceTypes: 'array', removeAdditional: 'all' }));

type Properties = Record<string, { type?: unknown }>;

/**
 * Ajv coerces "1e400" and "Infinity" to Infinity and then skips `maximum` for a non-finite
 * number, so `limit=1e400` reached SQL. A coerced number must be finite.
 */
function finiteNumbers(fn: ValidateFunction, schema: object): ValidateFunction {
  const props = (schema as { properties?: Properties }).properties ?? {};
  const numeric = Object.keys(props).filter(
    (k) => props[k]?.type === 'integer' || props[k]?.type === 'number',
  );
  if (numeric.length === 0) return fn;
  const check = ((data: unknown) => {
    if (!fn(data)) {
      check.errors = fn.errors;
      return false;
    }
    const bad = numeric.filter((k) => {
      const v = (data as Record<string, unknown>)[k];
      return typeof v === 'number' && !Number.isFinite(v);
    });
    check.errors = bad.map(
      (k): ErrorObject => ({
        instancePath: `/${k}`,
        schemaPath: `#/properties/${k}/type`,
        keyword: 'type',
        params: { type: props[k]!.type },
        message: `must be a finite ${String(props[k]!.type)}`,
      }),
    );
    return bad.length === 0;
  }) as ValidateFunction;
  return check;
}

/** Compiles each route's schemas: bodies without coercion, query strings and params with it. */
export function installValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart === 'body') return bodyAjv.compile(schema as object);
    const ajv = httpPart === 'querystring' ? queryAjv : textAjv;
    return finiteNumbers(ajv.compile(schema as object), schema as object);
  });
  installJsonParser(app);
}

/** Deeper request bodies are refused before validation (ajv and the spec checks recurse). */
export const MAX_BODY_DEPTH = 64;

const NUL = '\u0000';

/**
 * What no JSON body may hold, wherever it is (specs, parameters and credentials are free-form
 * JSON): nesting deeper than `max` levels, and NUL characters, which PostgreSQL's text and jsonb
 * refuse. The first such place, found without recursion, or null.
 */
export function bodyProblem(
  value: unknown,
  max: number,
  base: string,
): { path: string; message: string } | null {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: base, depth: 0 }];
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes(NUL)) return { path, message: 'must not contain NUL characters (\\u0000)' };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return { path, message: `is nested deeper than ${max} levels` };
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, path: `${path}[${i}]`, depth: depth + 1 }));
    else
      for (const [k, x] of Object.entries(v)) {
        if (k.includes(NUL)) return { path, message: 'has a key with a NUL character (\\u0000)' };
        stack.push({ v: x, path: `${path}.${k}`, depth: depth + 1 });
      }
  }
  return null;
}

const refuse = (code: ErrorCode, issue: Issue, prefix = '') =>
  new SluiceError(code, `${prefix}${issue.path} ${issue.message}`, { issues: [issue] });

/**
 * JSON bodies: invalid UTF-8 is refused (the default parser replaced it with U+FFFD, changing
 * what was sent), prototype poisoning is refused as before, and bodyProblem's findings are
 * refused with their path, before any schema runs.
 */
function installJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, raw, done) => {
    const buf = raw as Buffer;
    if (!isUtf8(buf))
      return done(refuse(ErrorCode.BAD_REQUEST, { path: 'body', message: 'is not valid UTF-8' }), undefined);
    void parse(req, buf.toString('utf8'), (err, value) => {
      if (err) return done(err, undefined);
      const problem = bodyProblem(value, MAX_BODY_DEPTH, 'body');
      if (problem) return done(refuse(ErrorCode.VALIDATION, problem, 'invalid request: '), undefined);
      done(null, value);
    });
  });
}
