import { Type } from '@sinclair/typebox';
import { defineTransform, type Row } from '@sluice/core';

const config = Type.Object(
  {
    key: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      uniqueItems: true,
      description:
        'Fields that together identify a row. Values compare by type and value: 1 and "1" differ, ' +
        'nulls (and missing fields) are equal to each other.',
      examples: [['order_id'], ['customer_id', 'day']],
    }),
    keep: Type.Unsafe<'first'>({
      type: 'string',
      enum: ['first'],
      default: 'first',
      description:
        'Which row of a key to keep. Only `first`: keeping the last would mean holding every row until ' +
        'the input ends, which a stream cannot do.',
    }),
  },
  { additionalProperties: false },
);

export const dedupeTransform = defineTransform({
  name: 'dedupe',
  version: '1.0.0',
  summary:
    'Drops rows whose key fields were already seen, keeping the first (the drops count as filtered). ' +
    'Memory grows with the number of distinct keys (about 100 bytes plus the key text each), and the ' +
    'seen keys live for one run segment: after a resume from a checkpoint, a duplicate of a row read ' +
    'before the crash is not detected.',
  config,
  example: { key: ['order_id'], keep: 'first' },
  create(ctx) {
    const fields = ctx.config.key;
    const inherited = fields.map((f) => f in Object.prototype);
    const seen = new Set<string>();
    const value = (row: Row, j: number): unknown =>
      inherited[j] && !Object.hasOwn(row, fields[j]!) ? undefined : row[fields[j]!];
    const keyOf =
      fields.length === 1
        ? (row: Row): string => keyPart(value(row, 0))
        : (row: Row): string => {
            // Length prefixes keep ("a|b", "c") and ("a", "b|c") apart whatever the values contain.
            let k = '';
            for (let j = 0; j < fields.length; j++) {
              const p = keyPart(value(row, j));
              k += `${p.length}:${p}`;
            }
            return k;
          };
    return (rows) => {
      const out: Row[] = [];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const k = keyOf(row);
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(row);
      }
      return out;
    };
  },
});

/** A string that is equal for two values exactly when they are the same value of the same type. */
function keyPart(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return `s${v}`;
    case 'number':
    case 'bigint':
      // 1, 1.0 and 1n are one integer; -0 prints as 0.
      return `n${v}`;
    case 'boolean':
      return v ? 't' : 'f';
    case 'undefined':
      return 'z';
    default:
      if (v === null) return 'z';
      if (v instanceof Date) return `d${v.getTime()}`;
      try {
        return `j${JSON.stringify(v)}`;
      } catch {
        return `o${String(v)}`;
      }
  }
}
