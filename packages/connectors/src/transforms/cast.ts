import { Type } from '@sinclair/typebox';
import { ConfigError, defineTransform, type Issue, type Row, SOURCE_LINE } from '@sluice/core';
import {
  CAST_TYPES,
  type Caster,
  type CastType,
  caster,
  castOptionsIssue,
  describeCastFailure,
  isCastFailure,
} from '../shared/cast.ts';
import { retyped } from '../shared/known-columns.ts';
import { setField } from '../shared/pick.ts';
import { builtinWorker } from '../shared/worker-module.ts';

const CastTypeSchema = Type.Unsafe<CastType>({
  type: 'string',
  enum: [...CAST_TYPES],
  description:
    'string; integer (decimal digits, within ±2^53); number (decimal or exponent, "." separator); ' +
    'boolean (true/false, 1/0, yes/no, any case); date (kept as YYYY-MM-DD text); ' +
    'timestamp (ISO-8601, output as UTC ISO text; no zone means UTC)',
});

const config = Type.Object(
  {
    fields: Type.Record(
      Type.String({ minLength: 1 }),
      Type.Union([
        CastTypeSchema,
        Type.Object(
          {
            type: CastTypeSchema,
            format: Type.Optional(
              Type.Union(
                [Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })],
                {
                  description:
                    'date: YYYY-MM-DD (default, fast), a pattern of YYYY, MM and DD with separators (DD/MM/YYYY, ' +
                    'also fast), or a date-fns pattern (dd/MM/yy, MMM d yyyy, d MMMM yyyy, EEE, d MMM yyyy); ' +
                    'timestamp: iso (default, ISO-8601), unix (epoch seconds), unix_ms (epoch milliseconds) or a ' +
                    'date-fns pattern (yyyy/MM/dd HH:mm, dd.MM.yyyy HH:mm:ss, with X for an offset). A list is ' +
                    'tried in order and the first that reads the value wins: that is how several layouts in one ' +
                    'column are read. Text without an offset is taken as UTC. Patterns are checked by `sluice validate`.',
                  examples: ['dd/MM/yyyy', ['yyyy-MM-dd', 'MMM d yyyy', 'yyyy/MM/dd HH:mm']],
                },
              ),
            ),
            locale: Type.Optional(
              Type.String({
                description:
                  'The language of month and day names in date-fns patterns: a date-fns locale such as fr, de, ' +
                  'es, en-GB or pt-BR (default en-US). Names match in any case.',
                examples: ['fr', 'de'],
              }),
            ),
            nullable: Type.Optional(
              Type.Boolean({
                default: true,
                description: 'false: a null, missing or null-valued field quarantines the row',
              }),
            ),
          },
          { additionalProperties: false },
        ),
      ]),
      {
        description:
          'Fields to cast: name → type, or name → {type, format, nullable}. Other fields pass as they are.',
        examples: [
          { id: 'integer', amount: 'number', day: { type: 'date', format: 'DD/MM/YYYY' } },
          { released: { type: 'date', format: ['d MMMM yyyy', 'dd/MM/yyyy'], locale: 'fr' } },
        ],
      },
    ),
    nullValues: Type.Array(Type.String(), {
      default: [''],
      description: 'Text values that mean null in the cast fields (compared exactly, before casting).',
    }),
  },
  { additionalProperties: false },
);

export const castTransform = defineTransform({
  name: 'cast',
  version: '1.0.0',
  summary:
    'Converts fields to string, integer, number, boolean, date or timestamp (dates in any layout through ' +
    'date-fns patterns and locales). A row with a value that does not convert is quarantined whole, with ' +
    'the field, value, type, formats tried and source line.',
  config,
  example: {
    fields: {
      id: 'integer',
      amount: 'number',
      paid: 'boolean',
      created: { type: 'timestamp', nullable: false },
      released: { type: 'date', format: ['MMM d yyyy', 'yyyy/MM/dd HH:mm'] },
    },
    nullValues: ['', 'NULL'],
  },
  rowLocal: true,
  worker: builtinWorker,
  columns: (c, input) =>
    retyped(
      input,
      Object.fromEntries(Object.entries(c.fields).map(([k, v]) => [k, typeof v === 'string' ? v : v.type])),
    ),
  create(ctx) {
    const { fields, nullValues } = ctx.config;
    const names = Object.keys(fields);
    const types: CastType[] = [];
    const nullable: boolean[] = [];
    const casters: Caster[] = [];
    const issues: Issue[] = [];
    for (const name of names) {
      const spec = fields[name]!;
      const opts = typeof spec === 'string' ? { type: spec } : spec;
      const problem = castOptionsIssue(opts.type, opts);
      if (problem) {
        const option = problem.option === undefined ? '' : `.${problem.option}`;
        const index = problem.index === undefined ? '' : `.${problem.index}`;
        issues.push({ path: `with.fields.${name}${option}${index}`, message: problem.message });
        continue;
      }
      types.push(opts.type);
      nullable.push(opts.nullable !== false);
      casters.push(caster(opts.type, { ...opts, nullValues }));
    }
    if (issues.length > 0)
      throw new ConfigError(`${ctx.componentId}: invalid config for transform "cast"`, issues);
    const inherited = names.map((f) => f in Object.prototype);
    const n = names.length;

    const reject = (row: Row): void => {
      const reasons: string[] = [];
      for (let j = 0; j < n; j++) {
        const v = inherited[j] && !Object.hasOwn(row, names[j]!) ? undefined : row[names[j]!];
        if (v === undefined) {
          if (!nullable[j])
            reasons.push(`field ${JSON.stringify(names[j])} is missing and nullable is false`);
          continue;
        }
        const r = casters[j]!(v);
        if (isCastFailure(r)) reasons.push(describeCastFailure(names[j]!, v, types[j]!, r));
      }
      const line = row[SOURCE_LINE] as number | undefined;
      const reason = reasons.join('; ');
      ctx.quarantine(line === undefined ? { reason, row } : { reason, row, line });
    };

    return (rows) => {
      const out: Row[] = new Array(rows.length);
      let k = 0;
      nextRow: for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        // Copied on the first changed value only: rows already typed (from a database) pass as they are.
        let copy: Row | undefined;
        for (let j = 0; j < n; j++) {
          const name = names[j]!;
          const v = inherited[j] && !Object.hasOwn(row, name) ? undefined : row[name];
          if (v === undefined && nullable[j]) continue;
          const r = casters[j]!(v);
          if (r === v) continue;
          if (isCastFailure(r)) {
            reject(row);
            continue nextRow;
          }
          if (copy === undefined) copy = { ...row };
          setField(copy, name, r);
        }
        out[k++] = copy ?? row;
      }
      out.length = k;
      return out;
    };
  },
});
