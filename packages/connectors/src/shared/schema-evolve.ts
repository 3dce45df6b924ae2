import { ErrorCode, FatalError, type Row, type SchemaChange } from '@sluice/core';
import type { Findings, SchemaContract } from './schema-contract.ts';

/** What a batch's findings come to under the contract: the table changes to make and the rows to write. */
export interface BatchPlan {
  /** The batch's rows less those discarded, with dropped values removed. */
  rows: Row[];
  /** Columns to add (evolve), with the type their values need. */
  add: { column: string; type: string }[];
  /** Column types to widen (evolve). */
  widen: { column: string; from: string; to: string }[];
  /** Columns of the table to write from now on, besides those added. */
  write: string[];
  /** Rows set aside (discard_row), by index in the batch. */
  discarded: { index: number; reason: string }[];
  /** This batch's rows_discarded and values_dropped, one per column. */
  counted: SchemaChange[];
}

export interface PlanContext {
  contract: SchemaContract;
  /** The table's columns by name, with their types as the database spells them. */
  table: ReadonlyMap<string, { type: string }>;
  /** `componentId`, to begin messages with. */
  where: string;
  /** `schema.table`, for messages. */
  location: string;
  /** Types for new columns, inferred from the batch's values (the database's inferColumnTypes). */
  infer(rows: readonly Row[], columns: readonly string[]): string[];
  /** The SQL that adds a column, and that widens one, for a message to suggest under freeze. */
  addColumnSql(column: string, type: string): string;
  widenColumnSql(column: string, type: string): string;
}

const quoted = (names: Iterable<string>) => [...names].map((n) => `"${n}"`).join(', ');

/** Applies the contract to what `Fit.scan` found in `rows`; throws FatalError under freeze. */
export function planBatch(found: Findings, rows: Row[], p: PlanContext): BatchPlan {
  const plan: BatchPlan = { rows, add: [], widen: [], write: found.unwritten, discarded: [], counted: [] };
  if (found.newFields.size === 0 && found.widen.size === 0) return plan;
  switch (p.contract) {
    case 'evolve': {
      const fields = [...found.newFields.keys()];
      const types = p.infer(rows, fields);
      plan.add = fields.map((column, i) => ({ column, type: types[i]! }));
      plan.widen = [...found.widen].map(([column, w]) => ({
        column,
        from: p.table.get(column)!.type,
        to: w.type,
      }));
      return plan;
    }
    case 'freeze':
      throw frozen(found, rows, p);
    case 'discard_row': {
      const reasons = new Map<number, string[]>();
      const note = (index: number, why: string) => {
        const list = reasons.get(index);
        if (list) list.push(why);
        else reasons.set(index, [why]);
      };
      for (const [field, at] of found.newFields) {
        for (const i of at) note(i, `field "${field}" has no column`);
        plan.counted.push({ change: 'rows_discarded', column: field, count: at.length });
      }
      for (const [column, w] of found.widen) {
        const type = p.table.get(column)!.type;
        for (const i of w.rows) note(i, `field "${column}" does not fit its column's type ${type}`);
        plan.counted.push({ change: 'rows_discarded', column, count: w.rows.length });
      }
      for (const [index, why] of reasons) {
        plan.discarded.push({
          index,
          reason: `${why.join('; ')} in table ${p.location} (schema: discard_row)`,
        });
      }
      plan.rows = rows.filter((_, i) => !reasons.has(i));
      return plan;
    }
    case 'discard_value': {
      // Fields with no column are simply not written; values too wide for their column are
      // dropped from a copy of the row (other sinks of the step see the row as it was).
      for (const [field, at] of found.newFields)
        plan.counted.push({ change: 'values_dropped', column: field, count: at.length });
      if (found.widen.size === 0) return plan;
      const drop = new Map<number, string[]>();
      for (const [column, w] of found.widen) {
        plan.counted.push({ change: 'values_dropped', column, count: w.rows.length });
        for (const i of w.rows) drop.set(i, [...(drop.get(i) ?? []), column]);
      }
      plan.rows = rows.map((row, i) => {
        const columns = drop.get(i);
        if (!columns) return row;
        const copy = { ...row };
        for (const c of columns) copy[c] = null;
        return copy;
      });
      return plan;
    }
  }
}

function frozen(found: Findings, rows: Row[], p: PlanContext): FatalError {
  const problems: string[] = [];
  const fixes: string[] = [];
  if (found.newFields.size > 0) {
    const fields = [...found.newFields.keys()];
    const types = p.infer(rows, fields);
    problems.push(
      `table ${p.location} has no column ${quoted(fields)} (its columns: ${[...p.table.keys()].join(', ')})`,
    );
    fixes.push(...fields.map((f, i) => p.addColumnSql(f, types[i]!)));
  }
  for (const [column, w] of found.widen) {
    const value = rows[w.rows[0]!]![column];
    problems.push(
      `column "${column}" is ${p.table.get(column)!.type}, too narrow for ${JSON.stringify(
        typeof value === 'bigint' ? value.toString() : value,
      )}`,
    );
    fixes.push(p.widenColumnSql(column, w.type));
  }
  return new FatalError(
    `${p.where}: ${problems.join('; ')}, and schema: freeze changes no column. Set schema: evolve to ` +
      'let the sink make the change, discard_row or discard_value to set such rows or values aside, ' +
      `or change the table yourself: ${fixes.join('; ')}`,
    { code: ErrorCode.CONFIG },
  );
}

/** One line for the log about a change (see SchemaChange). */
export function changeText(c: SchemaChange, location: string): string {
  switch (c.change) {
    case 'column_added':
      return `added column "${c.column}" ${c.type} to ${location} (schema: evolve)`;
    case 'type_widened':
      return `widened column "${c.column}" of ${location} from ${c.from} to ${c.type} (schema: evolve)`;
    case 'rows_discarded':
      return `discarded ${c.count} row(s) for field "${c.column}", which ${location} has no room for (schema: discard_row)`;
    case 'values_dropped':
      return `dropped ${c.count} value(s) of field "${c.column}", which ${location} has no room for (schema: discard_value)`;
  }
}

/** Sums changes by kind and column, for the report: a column added once, rows counted over the run. */
export class ChangeLog {
  readonly #changes = new Map<string, SchemaChange>();

  add(c: SchemaChange): boolean {
    const key = `${c.change}\n${c.column}`;
    const had = this.#changes.get(key);
    if (had && c.count !== undefined) {
      had.count = (had.count ?? 0) + c.count;
      return false;
    }
    if (had) Object.assign(had, c.from === undefined ? c : { ...c, from: had.from });
    else this.#changes.set(key, { ...c });
    return had === undefined;
  }

  list(): SchemaChange[] {
    return [...this.#changes.values()];
  }
}
