import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Issue } from '../errors.ts';
import { celProblem } from '../expression.ts';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

// One compiler for configs and parameters: fills defaults, reports every problem.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
addFormats(ajv);
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
// Row validation must not rewrite rows with defaults: a separate compiler, made on first use
// (start-up pays for what a run needs only).
let rowAjv: Ajv | undefined;

const cache = new WeakMap<object, ValidateFunction>();

function compile(schema: object): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn;
}

/** Validates `value` (mutated: defaults filled) and returns the problems with paths under `base`. */
export function validateAgainst(schema: object, value: unknown, base: string): Issue[] {
  const fn = compile(schema);
  if (fn(value)) return [];
  // `if`/`then` adds a summary ("must match then schema") beside the error that says what is missing.
  const errors = (fn.errors ?? []).filter((e) => e.keyword !== 'if');
  return errors.map((e) => toIssue(e, base));
}

/** Compiles a JSON Schema for per-row checks; the function returns null or the reasons. */
export function compileRowValidator(schema: object): (row: unknown) => string | null {
  rowAjv ??= addFormats(new Ajv({ allErrors: true, strict: false }));
  const fn = rowAjv.compile(schema);
  return (row) => {
    if (fn(row)) return null;
    return (fn.errors ?? [])
      .map((e) => `${pointerToPath(e.instancePath, '') || '(row)'}: ${describe(e)}`)
      .join('; ');
  };
}

function toIssue(e: ErrorObject, base: string): Issue {
  return { path: pointerToPath(e.instancePath, base) || base || '(root)', message: describe(e) };
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `unknown property "${String(p.additionalProperty)}"`;
    case 'required':
      return `missing required property "${String(p.missingProperty)}"`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return e.message ?? e.keyword;
  }
}

/** `/steps/0/with/x` → `steps[0].with.x`, prefixed with `base`. */
export function pointerToPath(pointer: string, base: string): string {
  let out = base;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
