import { isUtf8 } from 'node:buffer';
import {
  ErrorCode,
  type Issue,
  lineColumn,
  MAX_SPEC_DEPTH,
  nestingDepthIssue,
  parseSpecText,
  SluiceError,
} from '@sluice/core';
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
  installYamlParser(app);
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes a pipeline spec as a YAML (or JSON) document body, as `{ spec }`. */
    yamlSpec?: boolean;
  }
}

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

/**
 * A pipeline spec is a YAML document: the routes that take one (create, update, validate) take it
 * as the body itself with a YAML content type, and see it as `{ spec }`. Other routes refuse YAML.
 */
function installYamlParser(app: FastifyInstance): void {
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'buffer' }, (req, raw, done) => {
    if (!req.routeOptions.config.yamlSpec) {
      return done(
        refuse(ErrorCode.UNSUPPORTED_MEDIA_TYPE, {
          path: 'headers.content-type',
          message:
            'is YAML, which only POST /pipelines, PUT /pipelines/{id} and POST /pipelines/{id}/validate take ' +
            '(the spec as the body); send this request as application/json',
        }),
        undefined,
      );
    }
    const buf = raw as Buffer;
    if (!isUtf8(buf))
      return done(refuse(ErrorCode.BODY_INVALID, { path: 'body', message: 'is not valid UTF-8' }), undefined);
    const text = buf.toString('utf8');
    let spec: unknown;
    try {
      spec = parseSpecText(text, 'body');
    } catch (err) {
      const message = (err as Error).message.replace(/^body: /, '');
      return done(refuse(ErrorCode.BODY_INVALID, { path: 'body', message: `is ${message}` }), undefined);
    }
    const problem = bodyProblem(spec, 'body.spec', text);
    if (problem) return done(refuse(ErrorCode.VALIDATION, problem, 'invalid request: '), undefined);
    done(null, { spec });
  });
}

const NUL = '\u0000';

/** The first string or key holding NUL (which PostgreSQL's text and jsonb refuse), found without recursion. */
function nulIssue(value: unknown, base: string): Issue | null {
  const stack: { v: unknown; path: string }[] = [{ v: value, path: base }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes(NUL)) return { path, message: 'must not contain NUL characters (\\u0000)' };
    } else if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, path: `${path}[${i}]` }));
    else if (typeof v === 'object' && v !== null)
      for (const [k, x] of Object.entries(v)) {
        if (k.includes(NUL)) return { path, message: 'has a key with a NUL character (\\u0000)' };
        stack.push({ v: x, path: `${path}.${k}` });
      }
  }
  return null;
}

/**
 * What no JSON body may hold, wherever it is (specs, parameters and credentials are free-form
 * JSON): nesting deeper than a spec may (ajv and the spec checks recurse), and NUL characters.
 * `text`, the body as sent, spares the walk for NUL when it has no `\u0000` escape.
 */
export function bodyProblem(value: unknown, base: string, text?: string): Issue | null {
  return (
    nestingDepthIssue(value, MAX_SPEC_DEPTH, base) ??
    (text === undefined || text.includes('\\u0000') ? nulIssue(value, base) : null)
  );
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
      return done(refuse(ErrorCode.BODY_INVALID, { path: 'body', message: 'is not valid UTF-8' }), undefined);
    const text = buf.toString('utf8');
    void parse(req, text, (err, value) => {
      if (err) return done(jsonProblem(err, text), undefined);
      const problem = bodyProblem(value, 'body', text);
      if (problem) return done(refuse(ErrorCode.VALIDATION, problem, 'invalid request: '), undefined);
      done(null, value);
    });
  });
}

/** Fastify says only that a body is not JSON; JSON.parse says where, which is what a caller needs. */
function jsonProblem(err: Error, text: string): Error {
  if ((err as { code?: string }).code !== 'FST_ERR_CTP_INVALID_JSON_BODY') return err;
  try {
    JSON.parse(text);
    return err; // valid JSON the default parser refused: keep its reason
  } catch (syntax) {
    const message = (syntax as Error).message;
    return refuse(ErrorCode.BODY_INVALID, {
      path: 'body',
      message: `is not valid JSON${where(text, message)}: ${message}`,
    });
  }
}

/**
 * ` at line L, column C` from the position JSON.parse names (Node 20 says only "at position N";
 * later versions add the line and column themselves), or nothing when it names none.
 */
function where(text: string, message: string): string {
  const at = /at position (\d+)/.exec(message);
  if (!at || /\(line \d+ column \d+\)/.test(message)) return '';
  return ` at ${lineColumn(text, Number(at[1]))}`;
}

/**
 * A route whose body is optional: a request sent with none (no payload, or `null`) is checked as
 * `{}`, so its defaults apply. JSON Schema has no "optional" at the top: without this, a bare POST
 * fails with "body must be object".
 */
export async function optionalBody(req: { body: unknown }): Promise<void> {
  if (req.body === undefined || req.body === null) req.body = {};
}
