import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { type AjvIssuesOptions, ajvIssues, ajvProblems, pointerToPath } from '../ajv-issues.ts';
import { ConfigError, type Issue } from '../errors.ts';
import { celProblem } from '../expression.ts';
import { ajvRegExp, patternProblem } from './regex.ts';
import { schemaProblems } from './schema-check.ts';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

/** Patterns in every schema, the user's included, run on RE2: see regex.ts. */
function newAjv(options: Options): Ajv {
  const instance = addFormats(
    new Ajv({ ...options, strict: false, logger: false, code: { ...options.code, regExp: ajvRegExp } }),
  );
  // `format: regex` (which the meta-schema puts on `pattern`) means "RE2 can run it".
  instance.addFormat('regex', (s: string) => patternProblem(s, 'ecma') === null);
  return instance;
}

// One compiler for configs and parameters: fills defaults, reports every problem.
// Its validators run once per spec, parameters or config, so Ajv's code optimisation passes cost
// more than they save: without them planning the benchmark's W1 spec took ~115 ms of CPU instead
// of ~165 ms (Node 20, 6 runs each). The row compiler below keeps them: its validators run per row.
// Nor does it check schemas against the meta-schema (compiling the meta-schema first): it compiles
// Sluice's own schemas, which the tests check, and a user's `parameters`, which the spec's
// `x-json-schema` check has already checked with the row compiler. `sluice validate` of W1's spec
// took 0.90× the CPU without it (farm-bench, 20 pairs).
const ajv = newAjv({ allErrors: true, useDefaults: true, validateSchema: false, code: { optimize: false } });
// `'x-cel': true` on a string schema: the value must parse as CEL, so a typo in a filter is an
// error at its JSON path when the spec is checked, not a failed run.
ajv.addKeyword({
  keyword: 'x-cel',
  type: 'string',
  errors: true,
  validate: function cel(this: unknown, on: boolean, value: string): boolean {
    const problem = on ? celProblem(value) : null;
    (cel as { errors?: Partial<ErrorObject>[] }).errors = problem
      ? [{ keyword: 'x-cel', message: problem, params: {} }]
      : [];
    return problem === null;
  },
});
// `'x-json-schema': true`: the value is a JSON Schema a user wrote; its problems are reported
// inside it (`with.schema.properties.a.type`) when the spec is checked. Checked on the row
// compiler: this one's useDefaults would write the meta-schema's defaults into the user's schema.
ajv.addKeyword({
  keyword: 'x-json-schema',
  errors: true,
  validate: function jsonSchema(
    this: unknown,
    on: boolean,
    value: unknown,
    _parent: unknown,
    cxt?: { instancePath: string },
  ): boolean {
    const problems = on ? schemaProblems(rowCompiler(), value) : [];
    (jsonSchema as { errors?: Partial<ErrorObject>[] }).errors = problems.map((p) => ({
      keyword: 'x-json-schema',
      instancePath: `${cxt?.instancePath ?? ''}${p.pointer}`,
      message: p.message,
      params: {},
    }));
    return problems.length === 0;
  },
});
// Row validation must not rewrite rows with defaults: a separate compiler, made on first use
// (start-up pays for what a run needs only).
let rowAjv: Ajv | undefined;
const rowCompiler = (): Ajv => (rowAjv ??= newAjv({ allErrors: true }));

const cache = new WeakMap<object, ValidateFunction>();

function compile(schema: object): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    try {
      fn = ajv.compile(schema);
    } finally {
      // Ajv would keep every schema it compiled (users' ones too) for the process's life, and
      // refuse a second schema with the same `$id`; the WeakMap above is the cache.
      ajv.removeSchema(schema);
    }
    cache.set(schema, fn);
  }
  return fn;
}

/** Validates `value` (mutated: defaults filled) and returns the problems with paths under `base`. */
export function validateAgainst(
  schema: object,
  value: unknown,
  base: string,
  options: AjvIssuesOptions = {},
): Issue[] {
  const fn = compile(schema);
  if (fn(value)) return [];
  return ajvIssues(fn.errors, base, options);
}

/**
 * Problems with a JSON Schema a user wrote, at paths under `base` (`parameters`, `with.schema`);
 * empty when it compiles.
 */
export function userSchemaIssues(schema: unknown, base: string): Issue[] {
  return schemaProblems(rowCompiler(), schema).map((p) => ({
    path: pointerToPath(p.pointer, base) || base || '(root)',
    message: p.message,
  }));
}

/**
 * Compiles a JSON Schema for per-row checks; the function returns null or the reasons. A schema
 * that is not valid throws a ConfigError with every problem at its path under `where`.
 */
export function compileRowValidator(schema: object, where = 'schema'): (row: unknown) => string | null {
  const issues = userSchemaIssues(schema, where);
  if (issues.length > 0) throw new ConfigError('invalid JSON Schema', issues);
  const rows = rowCompiler();
  let fn: ValidateFunction;
  try {
    fn = rows.compile(schema);
  } finally {
    rows.removeSchema(schema);
  }
  return (row) => {
    if (fn(row)) return null;
    return ajvProblems(fn.errors ?? [])
      .map((p) => `${pointerToPath(p.pointer, '') || '(row)'}: ${p.message}`)
      .join('; ');
  };
}
