import { Type } from '@sinclair/typebox';
import { defineTransform, type Row, SOURCE_LINE } from '@sluice/core';
import { setField } from '../shared/pick.ts';
import { builtinWorker } from '../shared/worker-module.ts';

const config = Type.Object(
  {
    separator: Type.String({
      minLength: 1,
      default: '.',
      description: 'Joins a parent field name to a child name: `address.city` or, with `_`, `address_city`.',
      examples: ['.', '_'],
    }),
    depth: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'Levels of nesting to flatten (default: all). With 1, `{a: {b: {c: 1}}}` becomes `{"a.b": {c: 1}}`.',
        examples: [1, 2],
      }),
    ),
    fields: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        uniqueItems: true,
        description:
          'The object fields to flatten (default: every field holding an object). Other fields pass as they are.',
        examples: [['address', 'customer']],
      }),
    ),
  },
  { additionalProperties: false },
);

/**
 * A JSON-like object: what a source parsed, not a Date, Buffer or class instance (which are values
 * of their own, not nesting).
 */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export const flattenTransform = defineTransform({
  name: 'flatten',
  version: '1.0.0',
  summary:
    'Turns nested objects into top-level fields named by their path (`address.city`). Arrays are kept ' +
    'as values (unnest makes rows of them); a row whose flattened names collide is quarantined.',
  config,
  example: { separator: '_', depth: 2, fields: ['address'] },
  rowLocal: true,
  worker: builtinWorker,
  create(ctx) {
    const { separator, fields } = ctx.config;
    const depth = ctx.config.depth ?? Number.POSITIVE_INFINITY;
    const only = fields ? new Set(fields) : undefined;

    /** Adds `value` under `name` to `out`, its nested objects spread; returns a name already taken. */
    const put = (out: Row, name: string, value: unknown, level: number): string | undefined => {
      // An empty object stays a value: spreading it would lose the field.
      if (level < depth && isPlainObject(value)) {
        let any = false;
        for (const k in value) {
          any = true;
          const clash = put(out, `${name}${separator}${k}`, value[k], level + 1);
          if (clash !== undefined) return clash;
        }
        if (any) return undefined;
      }
      if (Object.hasOwn(out, name)) return name;
      setField(out, name, value);
      return undefined;
    };

    return (rows) => {
      const out: Row[] = new Array(rows.length);
      let n = 0;
      nextRow: for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        let nested = false;
        for (const key in row) {
          if ((only === undefined || only.has(key)) && isPlainObject(row[key])) {
            nested = true;
            break;
          }
        }
        // Rows with nothing to flatten pass as they are: no copy.
        if (!nested) {
          out[n++] = row;
          continue;
        }
        const o: Row = {};
        for (const key in row) {
          const v = row[key];
          const clash = put(o, key, v, only === undefined || only.has(key) ? 0 : depth);
          if (clash !== undefined) {
            const line = row[SOURCE_LINE];
            const reason =
              `flattening makes two fields named ${JSON.stringify(clash)} (separator ${JSON.stringify(separator)}); ` +
              'choose another separator or rename one of them first';
            ctx.quarantine(line === undefined ? { reason, row } : { reason, row, line });
            continue nextRow;
          }
        }
        const line = row[SOURCE_LINE];
        if (line !== undefined) o[SOURCE_LINE] = line;
        out[n++] = o;
      }
      out.length = n;
      return out;
    };
  },
});
