import { Type } from '@sinclair/typebox';
import {
  type ComponentContext,
  compileExpression,
  defineTransform,
  FatalError,
  type Row,
  SOURCE_LINE,
} from '@sluice/core';
import { sameColumns } from '../shared/known-columns.ts';
import { builtinWorker } from '../shared/worker-module.ts';

const config = Type.Object(
  {
    where: Type.String({
      'x-cel': true,
      minLength: 1,
      description:
        'CEL expression evaluated per row; rows where it is true go on, false ones are filtered out. ' +
        'Fields are variables (`amount > 10`), `row["odd name"]` reaches any field, `params.x` the run parameters. ' +
        '`s.matches(re)` uses RE2 syntax (linear time: no backreferences or lookaround).',
      examples: ['active == true && amount >= 10.0', 'country in params.countries'],
    }),
    onError: Type.Unsafe<'quarantine' | 'fail'>({
      type: 'string',
      enum: ['quarantine', 'fail'],
      default: 'quarantine',
      description:
        'What to do with a row the expression cannot evaluate (a null field compared with a number, say) or ' +
        'for which it returns a non-boolean: `quarantine` the row and go on, or `fail` the step.',
    }),
  },
  { additionalProperties: false },
);

export const filterTransform = defineTransform({
  name: 'filter',
  version: '1.0.0',
  summary:
    'Keeps the rows for which a CEL expression is true. Rows it cannot evaluate (type errors, nulls) are ' +
    'quarantined with the reason and source line, or fail the step with onError: fail.',
  config,
  example: { where: 'status == "paid" && amount >= params.minAmount', onError: 'quarantine' },
  rowLocal: true,
  worker: builtinWorker,
  columns: sameColumns,
  create(ctx) {
    const { where, onError } = ctx.config;
    const expr = compileExpression(where, ctx.params, `${ctx.componentId} with.where`);
    return (rows) => {
      const out: Row[] = [];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        let v: unknown;
        try {
          v = expr.evaluate(row);
        } catch (err) {
          rejectRow(ctx, onError, row, `filter ${JSON.stringify(where)} failed: ${firstLine(err)}`);
          continue;
        }
        if (v === true) out.push(row);
        else if (v !== false) {
          rejectRow(
            ctx,
            onError,
            row,
            `filter ${JSON.stringify(where)} returned ${describeValue(v)}; it must return a bool ` +
              '(compare explicitly, e.g. `x == true`, or guard nulls with `has(row.x)` / `x != null`)',
          );
        }
      }
      return out;
    };
  },
});

/** Quarantines the row, or with `onError: fail` stops the step naming the row's line. */
export function rejectRow(
  ctx: ComponentContext<unknown>,
  onError: 'quarantine' | 'fail',
  row: Row,
  reason: string,
): void {
  const line = row[SOURCE_LINE] as number | undefined;
  if (onError === 'fail') {
    const at = line === undefined ? '' : ` at source line ${line}`;
    throw new FatalError(
      `${ctx.componentId}: ${reason}${at}. Fix the data or the expression, or set onError: quarantine to ` +
        'set such rows aside and go on.',
    );
  }
  ctx.quarantine(line === undefined ? { reason, row } : { reason, row, line });
}

export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const nl = msg.indexOf('\n');
  return nl < 0 ? msg : msg.slice(0, nl);
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return `the int ${v}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number') return `the double ${v}`;
  return `a ${Array.isArray(v) ? 'list' : typeof v}`;
}
