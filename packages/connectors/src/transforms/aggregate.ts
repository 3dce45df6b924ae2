import { Type } from '@sinclair/typebox';
import { defineTransform, ErrorCode, FatalError, type Issue, type Row } from '@sluice/core';
import { pick, withType } from '../shared/known-columns.ts';
import { keyPart } from '../shared/row-key.ts';
import {
  type Accumulator,
  AGGREGATE_OPS,
  type AggregateOp,
  accumulator,
  type DistinctBudget,
  notNumeric,
} from './aggregate-ops.ts';

const Measure = Type.Object(
  {
    op: Type.Unsafe<AggregateOp>({
      type: 'string',
      enum: [...AGGREGATE_OPS],
      description:
        'count (rows, or values that are not null when `field` is given), sum, avg, min, max, first and ' +
        'last (the value of the group’s first or last row, null included), count_distinct. sum and avg take ' +
        'numbers and texts that are numbers (a CSV without a schema); a row with anything else is quarantined.',
    }),
    field: Type.Optional(Type.String({ minLength: 1, description: 'The input field it is computed over.' })),
  },
  { additionalProperties: false },
);

const config = Type.Object(
  {
    groupBy: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      uniqueItems: true,
      description:
        'Fields whose values together make a group; each output row carries them. Values compare by type ' +
        'and value (1 and "1" differ); nulls and missing fields are one group. Empty: one row for the whole input.',
      examples: [['country'], ['country', 'day']],
    }),
    fields: Type.Record(Type.String({ minLength: 1 }), Measure, {
      minProperties: 1,
      description: 'The output fields computed per group: name → the function and the input field.',
      examples: [{ orders: { op: 'count' }, revenue: { op: 'sum', field: 'amount' } }],
    }),
    maxGroups: Type.Integer({
      minimum: 1,
      default: 100_000,
      description:
        'The most groups held in memory (a few hundred bytes each, plus their values). Past it the step ' +
        'fails: for more groups use the `sql` transform, whose engine spills to disk.',
    }),
    maxDistinct: Type.Integer({
      minimum: 1,
      default: 1_000_000,
      description: 'The most distinct values all count_distinct fields hold together (about 100 bytes each).',
    }),
  },
  { additionalProperties: false },
);

/** Rows per batch the aggregates are handed on in. */
const OUT_BATCH = 5000;

/** What a measure's values are, given those of its input field (when known). */
function measureType(op: AggregateOp, input: string | undefined): string | undefined {
  if (op === 'count' || op === 'count_distinct') return 'integer';
  if (op === 'avg') return 'number';
  if (op === 'sum') return input === 'integer' ? 'integer' : 'number';
  return input;
}

export const aggregateTransform = defineTransform({
  name: 'aggregate',
  version: '1.0.0',
  summary:
    'Groups rows by fields and computes count, sum, avg, min, max, first, last and count distinct per ' +
    'group, in memory (bounded by maxGroups). The output comes once the input ended, a row per group in ' +
    'the order groups first appeared. For joins, windows or more groups than fit in memory, use `sql`.',
  config,
  example: {
    groupBy: ['country'],
    fields: { orders: { op: 'count' }, revenue: { op: 'sum', field: 'amount' } },
    maxGroups: 100_000,
    maxDistinct: 1_000_000,
  },
  holdsInput: true,
  reshapes: true,
  // Known from the config alone: the groups' keys, then one column per measure.
  columns: (c, input) => [
    ...pick(c.groupBy, input),
    ...Object.entries(c.fields).map(([name, m]) =>
      withType(name, measureType(m.op, pick([m.field ?? ''], input)[0]!.type)),
    ),
  ],
  check(c) {
    const issues: Issue[] = [];
    for (const [name, m] of Object.entries(c.fields)) {
      if (m.op !== 'count' && m.field === undefined)
        issues.push({
          path: `fields.${name}.field`,
          message: `${m.op} needs the input field it is computed over`,
        });
      if (c.groupBy.includes(name))
        issues.push({
          path: `fields.${name}`,
          message: `"${name}" is also a groupBy field: give the result another name`,
        });
    }
    return issues;
  },
  create(ctx) {
    const { groupBy, fields, maxGroups, maxDistinct } = ctx.config;
    const measures = Object.entries(fields).map(([name, m]) => ({ name, op: m.op, field: m.field }));
    // sum and avg refuse what is not a number: a row is checked whole before any aggregate takes it.
    const strict = measures.filter((m) => m.op === 'sum' || m.op === 'avg');
    const checked = [...new Set(strict.map((m) => m.field!))];
    const groups = new Map<string, { keys: unknown[]; acc: Accumulator[] }>();
    const budget: DistinctBudget = { taken: 0 };
    const where = ctx.componentId;

    const refuse = (why: string): never => {
      throw new FatalError(`${where}: ${why}`, { code: ErrorCode.CONFIG });
    };
    return {
      push(rows) {
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i]!;
          let bad: string | undefined;
          for (const field of checked) {
            const why = notNumeric(row[field]);
            if (why !== undefined) {
              bad = `${field}: ${why}`;
              break;
            }
          }
          if (bad !== undefined) {
            ctx.quarantine({ reason: `cannot aggregate: ${bad}`, row });
            continue;
          }
          let k = '';
          for (const f of groupBy) {
            const p = keyPart(row[f]);
            k += `${p.length}:${p}`;
          }
          let g = groups.get(k);
          if (g === undefined) {
            if (groups.size >= maxGroups)
              refuse(
                `more than maxGroups (${maxGroups}) groups of ${groupBy.join(', ') || 'rows'}: raise maxGroups if ` +
                  'memory allows, or aggregate with the `sql` transform, which spills to disk',
              );
            g = {
              keys: groupBy.map((f) => row[f] ?? null),
              acc: measures.map((m) => accumulator(m.op, budget)),
            };
            groups.set(k, g);
          }
          for (let j = 0; j < measures.length; j++) {
            const m = measures[j]!;
            g.acc[j]!.add(m.field === undefined ? true : row[m.field]);
          }
          if (budget.taken > maxDistinct)
            refuse(
              `count_distinct holds more than maxDistinct (${maxDistinct}) values: raise maxDistinct if ` +
                'memory allows, or use the `sql` transform',
            );
        }
        return [];
      },
      async *finish() {
        let out: Row[] = [];
        for (const g of groups.values()) {
          const row: Row = {};
          groupBy.forEach((f, j) => {
            row[f] = g.keys[j];
          });
          measures.forEach((m, j) => {
            row[m.name] = g.acc[j]!.result();
          });
          out.push(row);
          if (out.length >= OUT_BATCH) {
            yield out;
            out = [];
          }
        }
        // No group at all: an aggregate over no rows is still one row, as in SQL, when nothing groups.
        if (groups.size === 0 && groupBy.length === 0) {
          const row: Row = {};
          for (const m of measures) row[m.name] = accumulator(m.op, budget).result();
          out.push(row);
        }
        if (out.length > 0) yield out;
      },
      async close() {
        groups.clear();
      },
    };
  },
});
