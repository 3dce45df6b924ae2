import { Type } from '@sinclair/typebox';
import { ConfigError, defineTransform, type Issue, type Row, SOURCE_LINE } from '@sluice/core';
import { pick, withType } from '../shared/known-columns.ts';
import { setField } from '../shared/pick.ts';
import { builtinWorker } from '../shared/worker-module.ts';

const config = Type.Object(
  {
    fields: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      uniqueItems: true,
      description:
        'The fields to keep, in output order; every other field is removed. A field a row lacks is null.',
      examples: [['id', 'email', 'created_at']],
    }),
    rename: Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
      default: {},
      description: 'Output names for some of the selected fields: old name → new name.',
    }),
  },
  { additionalProperties: false },
);

export const selectTransform = defineTransform({
  name: 'select',
  version: '1.0.0',
  summary:
    'Keeps only the listed fields, in that order (a missing field becomes null), optionally renaming them.',
  config,
  example: { fields: ['id', 'email', 'created_at'], rename: { created_at: 'signed_up_at' } },
  rowLocal: true,
  worker: builtinWorker,
  columns: (c, input) =>
    pick(c.fields, input).map((col) => withType(c.rename[col.name] ?? col.name, col.type)),
  create(ctx) {
    const { fields, rename } = ctx.config;
    const issues: Issue[] = [];
    const selected = new Set(fields);
    for (const from of Object.keys(rename)) {
      if (!selected.has(from)) {
        issues.push({
          path: `with.rename.${from}`,
          message: `"${from}" is not in fields; add it to fields or remove the rename`,
        });
      }
    }
    const names = fields.map((f) => (Object.hasOwn(rename, f) ? rename[f]! : f));
    const seen = new Map<string, string>();
    fields.forEach((f, i) => {
      const other = seen.get(names[i]!);
      if (other !== undefined) {
        issues.push({
          path: `with.rename.${Object.hasOwn(rename, f) ? f : other}`,
          message: `"${f}" and "${other}" would both be output as "${names[i]}"; choose distinct names`,
        });
      }
      seen.set(names[i]!, f);
    });
    if (issues.length > 0)
      throw new ConfigError(`${ctx.componentId}: invalid config for transform "select"`, issues);

    const n = fields.length;
    // `row.constructor` of a row without that field is Object's, not the data's.
    const inherited = fields.map((f) => f in Object.prototype);
    return (rows) => {
      const out: Row[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const o: Row = {};
        for (let j = 0; j < n; j++) {
          const f = fields[j]!;
          const v = inherited[j] && !Object.hasOwn(row, f) ? undefined : row[f];
          setField(o, names[j]!, v === undefined ? null : v);
        }
        const line = row[SOURCE_LINE];
        if (line !== undefined) o[SOURCE_LINE] = line;
        out[i] = o;
      }
      return out;
    };
  },
});
