import { Type } from '@sinclair/typebox';
import { ConfigError, compileRowValidator, defineTransform, type Row, SOURCE_LINE } from '@sluice/core';
import { sameColumns } from '../shared/known-columns.ts';
import { builtinWorker } from '../shared/worker-module.ts';

const config = Type.Object(
  {
    schema: Type.Object(
      {},
      {
        additionalProperties: true,
        'x-json-schema': true,
        description:
          'JSON Schema (draft-07 / 2019-09 keywords, formats such as email, date, date-time, uuid) each row ' +
          'must match. Rows that do not are quarantined with every reason. `pattern` uses RE2 syntax, which ' +
          'matches in linear time: no backreferences or lookaround.',
        examples: [
          {
            type: 'object',
            required: ['id', 'email'],
            properties: { id: { type: 'integer', minimum: 1 }, email: { type: 'string', format: 'email' } },
          },
        ],
      },
    ),
  },
  { additionalProperties: false },
);

export const validateTransform = defineTransform({
  name: 'validate',
  version: '1.0.0',
  columns: sameColumns,
  summary:
    'Checks every row against a JSON Schema; rows that fail are quarantined with the reasons and source line, ' +
    'the rest go on unchanged.',
  config,
  example: {
    schema: {
      type: 'object',
      required: ['id', 'amount'],
      properties: { id: { type: 'integer' }, amount: { type: 'number', minimum: 0 } },
    },
  },
  rowLocal: true,
  worker: builtinWorker,
  create(ctx) {
    let check: (row: unknown) => string | null;
    try {
      check = compileRowValidator(ctx.config.schema, 'with.schema');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const issues =
        err instanceof ConfigError
          ? err.issues
          : [{ path: 'with.schema', message: `not a valid JSON Schema: ${message}` }];
      throw new ConfigError(`${ctx.componentId}: invalid config for transform "validate"`, issues);
    }
    return (rows) => {
      const out: Row[] = [];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const reason = check(row);
        if (reason === null) {
          out.push(row);
          continue;
        }
        const line = row[SOURCE_LINE] as number | undefined;
        ctx.quarantine(line === undefined ? { reason, row } : { reason, row, line });
      }
      return out;
    };
  },
});
