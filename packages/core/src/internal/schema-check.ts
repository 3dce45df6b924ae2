import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import { ajvProblems, type PointerProblem } from '../ajv-issues.ts';
import { patternProblem } from './regex.ts';

/**
 * What would stop `ajv.compile(schema)` for a schema a user wrote (a pipeline's `parameters`, the
 * validate transform's `schema`), each at a JSON pointer into the schema: a keyword the JSON Schema
 * meta-schema refuses (`type: bogus`), a pattern RE2 cannot run, a `$ref` that resolves nowhere.
 * Without this, ajv.compile throws one message for the whole schema ("schema is invalid:
 * data/properties/a/type must be equal to one of the allowed values") and a bad `$ref` surfaced
 * as an internal error.
 */
export function schemaProblems(ajv: Ajv, schema: unknown): PointerProblem[] {
  if (typeof schema === 'boolean') return [];
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    return [{ pointer: '', message: 'must be a JSON Schema: an object such as {"type": "object"}' }];
  const declared = (schema as { $schema?: unknown }).$schema;
  if (declared !== undefined && String(declared).replace(/#$/, '') !== DRAFT_07)
    return [
      {
        pointer: '/$schema',
        message: `unknown meta-schema ${JSON.stringify(declared)}: omit $schema, or use "${DRAFT_07}#" (draft-07)`,
      },
    ];
  const meta = metaValidator(ajv);
  if (!meta(schema)) return ajvProblems(explainPatterns(meta.errors ?? [], schema));
  const formats = unknownFormats(ajv, schema);
  if (formats.length > 0) return formats;
  try {
    ajv.compile(schema);
    return [];
  } catch (err) {
    const missing = (err as { missingRef?: unknown }).missingRef;
    if (typeof missing === 'string') {
      const at = refPointer(schema, missing);
      const ref = at ? JSON.stringify(at.ref) : JSON.stringify(missing);
      return [
        {
          pointer: at ? `${at.pointer}/$ref` : '',
          message: `cannot resolve $ref ${ref}: point it at a definition in this schema, such as "#/definitions/name" (other files are not loaded)`,
        },
      ];
    }
    return [{ pointer: '', message: `not a valid JSON Schema: ${(err as Error).message}` }];
  } finally {
    // A user's schema must not stay registered: Ajv keeps every compiled schema (and its `$id`,
    // which a second schema with the same `$id` would then clash with) for the process's life.
    ajv.removeSchema(schema);
  }
}

const DRAFT_07 = 'http://json-schema.org/draft-07/schema';
const metaValidators = new WeakMap<Ajv, ValidateFunction>();

/**
 * JSON Schema's meta-schema compiled as an ordinary schema: Ajv's own `validateSchema` skips
 * formats, and `format: "regex"` is what finds the patterns RE2 cannot run, with their paths.
 */
function metaValidator(ajv: Ajv): ValidateFunction {
  let fn = metaValidators.get(ajv);
  if (!fn) {
    const meta = ajv.getSchema(DRAFT_07)?.schema as Record<string, unknown>;
    // Without its `$id`: that one is registered already, as the meta-schema.
    const { $id: _, ...copy } = meta;
    fn = ajv.compile(copy);
    metaValidators.set(ajv, fn);
  }
  return fn;
}

/**
 * The meta-schema checks `pattern` and `patternProperties` keys with `format: "regex"`; say why a
 * pattern failed instead of "must match format "regex"".
 */
function explainPatterns(errors: readonly ErrorObject[], schema: object): ErrorObject[] {
  return errors
    .filter((e) => e.keyword !== 'propertyNames')
    .map((e) => {
      if (e.keyword !== 'format' || (e.params as { format?: unknown }).format !== 'regex') return e;
      const name = (e as { propertyName?: string }).propertyName;
      const source = name ?? at(schema, e.instancePath);
      if (typeof source !== 'string') return e;
      const problem = patternProblem(source, 'ecma') ?? 'not a valid regular expression';
      // A `patternProperties` key: Ajv points at the object; point at the key.
      const instancePath =
        name === undefined
          ? e.instancePath
          : `${e.instancePath}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      return { ...e, keyword: 'x-pattern', instancePath, message: problem };
    });
}

function at(root: unknown, pointer: string): unknown {
  let v = root;
  for (const raw of pointer.split('/').slice(1)) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

/** Where the `$ref` that resolved to `missing` is: the first one equal to it or naming its end. */
function refPointer(schema: object, missing: string): { pointer: string; ref: string } | null {
  let suffix: { pointer: string; ref: string } | null = null;
  // Iterative and in document order; the spec's depth limit bounds the schema already.
  const stack: { value: unknown; pointer: string }[] = [{ value: schema, pointer: '' }];
  while (stack.length > 0) {
    const { value, pointer } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    const ref = (value as { $ref?: unknown }).$ref;
    if (typeof ref === 'string' && !Array.isArray(value)) {
      if (ref === missing) return { pointer, ref };
      if (suffix === null && missing.endsWith(ref)) suffix = { pointer, ref };
    }
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      stack.push({
        value: (value as Record<string, unknown>)[k],
        pointer: `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`,
      });
    }
  }
  return suffix;
}

// Keywords whose values are data, not schemas: a `format` key inside them is not a format.
const DATA_KEYWORDS = new Set(['enum', 'const', 'default', 'examples']);

/**
 * `format` values Ajv does not know. Ajv ignores them (and warns on stderr), so a typo such as
 * `format: emial` would check nothing; they are problems at their pointer instead.
 */
function unknownFormats(
  ajv: Ajv,
  schema: object,
  pointer = '',
  problems: PointerProblem[] = [],
): PointerProblem[] {
  for (const [key, value] of Object.entries(schema)) {
    const at = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (key === 'format' && typeof value === 'string' && !(value in ajv.formats)) {
      const known = Object.keys(ajv.formats).filter((f) => f !== 'regex');
      problems.push({ pointer: at, message: `unknown format "${value}": use one of ${known.join(', ')}` });
    } else if (typeof value === 'object' && value !== null && !DATA_KEYWORDS.has(key)) {
      // Into the one list, not spread from a nested one: an array of 100,000 items would overflow.
      unknownFormats(ajv, value, at, problems);
    }
  }
  return problems;
}
