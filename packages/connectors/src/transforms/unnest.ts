import { Type } from '@sinclair/typebox';
import { ConfigError, defineTransform, type Row, SOURCE_LINE } from '@sluice/core';
import { copyRow, setField } from '../shared/pick.ts';
import { builtinWorker } from '../shared/worker-module.ts';
import { isPlainObject } from './flatten.ts';

const config = Type.Object(
  {
    field: Type.String({
      minLength: 1,
      description:
        "The array field: each of its elements becomes a row holding the parent row's other fields.",
      examples: ['items'],
    }),
    prefix: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Object elements: their fields are added to the row under this prefix (`item_` makes `sku` ' +
          '`item_sku`). Without it they are added as they are, and an element field named like a parent ' +
          "field quarantines the row. A scalar element always takes the array field's name.",
        examples: ['item_', 'items.'],
      }),
    ),
    keepEmpty: Type.Boolean({
      default: false,
      description:
        'A row whose array is empty, null or missing: true keeps it once with the field null; false ' +
        'drops it (counted as filtered in the run report).',
    }),
    index: Type.Optional(
      Type.String({
        minLength: 1,
        description: "A field to receive each element's 0-based position in the array.",
        examples: ['item_no'],
      }),
    ),
  },
  { additionalProperties: false },
);

export const unnestTransform = defineTransform({
  name: 'unnest',
  version: '1.0.0',
  summary:
    "Makes one row per element of an array field, keeping the parent row's fields; object elements are " +
    'merged in (under a prefix if given). A value that is not an array quarantines its row.',
  config,
  example: { field: 'items', prefix: 'item_', keepEmpty: false, index: 'item_no' },
  fanOut: true,
  rowLocal: true,
  worker: builtinWorker,
  create(ctx) {
    const { field, prefix, keepEmpty, index } = ctx.config;
    if (index === '__proto__' || index === field) {
      throw new ConfigError(`${ctx.componentId}: invalid config for transform "unnest"`, [
        { path: 'with.index', message: 'cannot be "__proto__" nor the array field itself' },
      ]);
    }

    const quarantine = (row: Row, reason: string): void => {
      const line = row[SOURCE_LINE];
      ctx.quarantine(line === undefined ? { reason, row } : { reason, row, line });
    };

    /** The parent's fields but the array, in their order, with the source line. */
    const parentOf = (row: Row): Row => {
      const p: Row = {};
      for (const key in row) if (key !== field) setField(p, key, row[key]);
      const line = row[SOURCE_LINE];
      if (line !== undefined) p[SOURCE_LINE] = line;
      return p;
    };

    /** Appends one row per element to `out`; the reason when the row cannot be unnested. */
    const spread = (row: Row, list: unknown[], out: Row[]): string | undefined => {
      const parent = parentOf(row);
      if (index !== undefined && Object.hasOwn(parent, index)) {
        return `the row already holds a field ${JSON.stringify(index)} (the index field); choose another index name`;
      }
      const start = out.length;
      for (let e = 0; e < list.length; e++) {
        const el = list[e];
        const o: Row = copyRow(parent);
        if (isPlainObject(el)) {
          for (const k in el) {
            const name = prefix === undefined ? k : prefix + k;
            if (Object.hasOwn(o, name) || name === '__proto__') {
              out.length = start;
              return (
                `element ${e} of ${JSON.stringify(field)} has a field ${JSON.stringify(k)} that the row ` +
                'already holds; set prefix to keep both'
              );
            }
            // The index is written after the element's fields: it would replace this one's value.
            if (name === index) {
              out.length = start;
              return (
                `element ${e} of ${JSON.stringify(field)} has a field ${JSON.stringify(k)}, which the index ` +
                `field ${JSON.stringify(index)} would replace; choose another index name or set prefix`
              );
            }
            o[name] = el[k];
          }
        } else o[field] = el === undefined ? null : el;
        if (index !== undefined) o[index] = e;
        out.push(o);
      }
      return undefined;
    };

    return (rows) => {
      const out: Row[] = [];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const v = Object.hasOwn(row, field) ? row[field] : undefined;
        if (Array.isArray(v) && v.length > 0) {
          const problem = spread(row, v, out);
          if (problem !== undefined) quarantine(row, problem);
        } else if (v === undefined || v === null || Array.isArray(v)) {
          if (!keepEmpty) continue;
          const o = parentOf(row);
          o[field] = null;
          if (index !== undefined) o[index] = null;
          out.push(o);
        } else {
          quarantine(
            row,
            `field ${JSON.stringify(field)} holds ${typeof v === 'object' ? 'an object' : `a ${typeof v}`}, not an array`,
          );
        }
      }
      return out;
    };
  },
});
