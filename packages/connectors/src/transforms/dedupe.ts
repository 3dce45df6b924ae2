import { Type } from '@sinclair/typebox';
import { defineTransform, type Row } from '@sluice/core';
import { sameColumns } from '../shared/known-columns.ts';
import { keyPart } from '../shared/row-key.ts';

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
  columns: sameColumns,
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
    const value = (row: Row, j: number): unknown =>
      inherited[j] && !Object.hasOwn(row, fields[j]!) ? undefined : row[fields[j]!];
    if (fields.length === 1) {
      // One field: numbers and strings go into sets of their own type, so no key string is built
      // per row (measured: 1M distinct numeric keys in about half the time).
      const numbers = new Set<number>();
      const strings = new Set<string>();
      const others = new Set<string>();
      return (rows) => {
        const out: Row[] = [];
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i]!;
          const v = value(row, 0);
          let set: Set<unknown>;
          let k: unknown = v;
          if (typeof v === 'number') set = numbers;
          else if (typeof v === 'bigint' && v >= MIN_SAFE && v <= MAX_SAFE) {
            set = numbers;
            k = Number(v);
          } else if (typeof v === 'string') set = strings;
          else {
            set = others;
            k = keyPart(v);
          }
          if (set.has(k)) continue;
          set.add(k);
          out.push(row);
        }
        return out;
      };
    }
    const seen = new Set<string>();
    return (rows) => {
      const out: Row[] = [];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        // Length prefixes keep ("a|b", "c") and ("a", "b|c") apart whatever the values contain.
        let k = '';
        for (let j = 0; j < fields.length; j++) {
          const p = keyPart(value(row, j));
          k += `${p.length}:${p}`;
        }
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(row);
      }
      return out;
    };
  },
});

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
