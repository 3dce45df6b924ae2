import { keyPart } from '../shared/row-key.ts';

/** The functions `aggregate` computes, as a config names them. */
export const AGGREGATE_OPS = [
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'first',
  'last',
  'count_distinct',
] as const;
export type AggregateOp = (typeof AGGREGATE_OPS)[number];

/** One aggregate of one group: takes the group's values one by one, then gives the result. */
export interface Accumulator {
  /** Returns why the value cannot be taken (a text that is not a number for `sum`), or undefined. */
  add(v: unknown): string | undefined;
  result(): unknown;
}

/** Counts distinct values across all groups, so that memory can be bounded for the whole transform. */
export interface DistinctBudget {
  taken: number;
}

export function accumulator(op: AggregateOp, budget: DistinctBudget): Accumulator {
  switch (op) {
    case 'count':
      return new Count();
    case 'sum':
      return new Sum();
    case 'avg':
      return new Avg();
    case 'min':
      return new Extreme(-1);
    case 'max':
      return new Extreme(1);
    case 'first':
      return new First();
    case 'last':
      return new Last();
    case 'count_distinct':
      return new CountDistinct(budget);
  }
}

const absent = (v: unknown): boolean => v === null || v === undefined;

/** Counts the values that are not null (`count` without a field counts rows: it is given `true`). */
class Count implements Accumulator {
  n = 0;
  add(v: unknown): undefined {
    if (!absent(v)) this.n++;
  }
  result(): number {
    return this.n;
  }
}

// A decimal literal as a CSV source without a schema gives it: digits, a sign, a point, an exponent.
const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** A value as a number or a bigint, or why it is not one. Text is taken only when it is a number. */
function numeric(v: unknown): number | bigint | string {
  if (typeof v === 'number') return Number.isFinite(v) ? v : `${v} is not a finite number`;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string' && NUMERIC.test(v)) {
    const t = v.trim();
    // An integer too long for a double keeps its digits.
    if (/^[+-]?\d+$/.test(t) && t.replace(/^[+-]/, '').length > 15) return BigInt(t);
    return Number(t);
  }
  return `${JSON.stringify(typeof v === 'bigint' ? String(v) : v)} is not a number`;
}

/** Why sum and avg cannot take the value, or undefined when they can (nulls are skipped). */
export function notNumeric(v: unknown): string | undefined {
  if (absent(v)) return undefined;
  const n = numeric(v);
  return typeof n === 'string' ? n : undefined;
}

/**
 * Integers add up exactly (as bigint, so a sum of many large ids stays right); the first value
 * with a fraction turns the sum into a double, as SQL's sum of a decimal column would not but a
 * sum of doubles does.
 */
class Sum implements Accumulator {
  exact = 0n;
  float = 0;
  isFloat = false;
  seen = false;
  add(v: unknown): string | undefined {
    if (absent(v)) return undefined;
    const n = numeric(v);
    if (typeof n === 'string') return n;
    this.seen = true;
    if (typeof n === 'bigint') this.exact += n;
    else if (Number.isInteger(n) && Number.isSafeInteger(n)) this.exact += BigInt(n);
    else {
      this.isFloat = true;
      this.float += n;
    }
    return undefined;
  }
  result(): number | bigint | null {
    if (!this.seen) return null;
    if (this.isFloat) return this.float + Number(this.exact);
    const small = this.exact >= MIN_SAFE && this.exact <= MAX_SAFE;
    return small ? Number(this.exact) : this.exact;
  }
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

class Avg implements Accumulator {
  sum = new Sum();
  n = 0;
  add(v: unknown): string | undefined {
    if (absent(v)) return undefined;
    const why = this.sum.add(v);
    if (why === undefined) this.n++;
    return why;
  }
  result(): number | null {
    return this.n === 0 ? null : Number(this.sum.result()) / this.n;
  }
}

/** Numbers compare as numbers, dates as instants, anything else as text; nulls are skipped. */
function compare(a: unknown, b: unknown): number {
  const na = typeof a === 'number' || typeof a === 'bigint';
  const nb = typeof b === 'number' || typeof b === 'bigint';
  if (na && nb) return a < b ? -1 : a > b ? 1 : 0;
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

class Extreme implements Accumulator {
  value: unknown = null;
  readonly sign: number;
  constructor(sign: number) {
    this.sign = sign;
  }
  add(v: unknown): undefined {
    if (absent(v)) return;
    if (this.value === null || compare(v, this.value) * this.sign > 0) this.value = v;
  }
  result(): unknown {
    return this.value;
  }
}

/** The value of the group's first row, null included, as SQL's first(). */
class First implements Accumulator {
  value: unknown;
  taken = false;
  add(v: unknown): undefined {
    if (this.taken) return;
    this.taken = true;
    this.value = v ?? null;
  }
  result(): unknown {
    return this.value;
  }
}

class Last implements Accumulator {
  value: unknown = null;
  add(v: unknown): undefined {
    this.value = v ?? null;
  }
  result(): unknown {
    return this.value;
  }
}

class CountDistinct implements Accumulator {
  readonly seen = new Set<string>();
  readonly budget: DistinctBudget;
  constructor(budget: DistinctBudget) {
    this.budget = budget;
  }
  add(v: unknown): undefined {
    if (absent(v)) return;
    const k = keyPart(v);
    if (this.seen.has(k)) return;
    this.seen.add(k);
    this.budget.taken++;
  }
  result(): number {
    return this.seen.size;
  }
}
