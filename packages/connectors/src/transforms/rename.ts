import { Type } from '@sinclair/typebox';
import { ConfigError, defineTransform, type Issue, type Row, SOURCE_LINE } from '@sluice/core';
import { renamed } from '../shared/known-columns.ts';
import { setField } from '../shared/pick.ts';
import { builtinWorker } from '../shared/worker-module.ts';

const config = Type.Object(
  {
    fields: Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
      minProperties: 1,
      description:
        'old name → new name. A renamed field keeps its position; a row without the old name passes ' +
        'unchanged. Names may be swapped (`{a: b, b: a}`). A row that already holds a field with a new ' +
        'name that is not itself renamed away is quarantined rather than overwritten.',
      examples: [{ cust_id: 'customer_id', ts: 'created_at' }],
    }),
  },
  { additionalProperties: false },
);

export const renameTransform = defineTransform({
  name: 'rename',
  version: '1.0.0',
  summary:
    'Renames fields, keeping their positions and every other field. A rename that would overwrite a ' +
    'field of the row quarantines the row with the reason.',
  config,
  example: { fields: { cust_id: 'customer_id', ts: 'created_at' } },
  rowLocal: true,
  worker: builtinWorker,
  columns: (c, input) => renamed(input, c.fields),
  create(ctx) {
    const renames = new Map(Object.entries(ctx.config.fields));
    const issues: Issue[] = [];
    const targets = new Map<string, string>();
    for (const [from, to] of renames) {
      const other = targets.get(to);
      if (other !== undefined) {
        issues.push({
          path: `with.fields.${from}`,
          message: `"${from}" and "${other}" are both renamed to "${to}"; give them different names`,
        });
      }
      // `out.__proto__ = v` would set the row's prototype, not a field.
      if (to === '__proto__') issues.push({ path: `with.fields.${from}`, message: 'cannot be "__proto__"' });
      targets.set(to, from);
    }
    if (issues.length > 0)
      throw new ConfigError(`${ctx.componentId}: invalid config for transform "rename"`, issues);
    const olds = [...renames.keys()];
    // A target that is not renamed away itself is a field a row may hold: renaming onto it collides.
    const guarded = [...targets].filter(([to]) => !renames.has(to));

    const collision = (row: Row): string | undefined => {
      for (const [to, from] of guarded) {
        if (Object.hasOwn(row, to) && Object.hasOwn(row, from)) {
          return `rename ${JSON.stringify(from)} → ${JSON.stringify(to)} would overwrite the row's field ${JSON.stringify(to)}; rename or drop that field first`;
        }
      }
      return undefined;
    };

    return (rows) => {
      const out: Row[] = new Array(rows.length);
      let k = 0;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        let touched = false;
        for (const f of olds) {
          if (Object.hasOwn(row, f)) {
            touched = true;
            break;
          }
        }
        if (!touched) {
          out[k++] = row;
          continue;
        }
        const clash = guarded.length > 0 ? collision(row) : undefined;
        if (clash !== undefined) {
          const line = row[SOURCE_LINE];
          ctx.quarantine(line === undefined ? { reason: clash, row } : { reason: clash, row, line });
          continue;
        }
        const o: Row = {};
        for (const key in row) setField(o, renames.get(key) ?? key, row[key]);
        const line = row[SOURCE_LINE];
        if (line !== undefined) o[SOURCE_LINE] = line;
        out[k++] = o;
      }
      out.length = k;
      return out;
    };
  },
});
