import { Environment } from '@marcbachmann/cel-js';
import type { Row } from './connector.ts';
import { nestingDepthIssue } from './depth.ts';
import { ErrorCode, SluiceError } from './errors.ts';
import { compileFast, MISS } from './internal/cel-fast.ts';
import { registerMatches, renameInError, useRe2 } from './internal/cel-matches.ts';

/**
 * CEL over rows. Record fields are variables, `row` is the whole record (for odd names:
 * `row["unit price"]`), `params` the run parameters.
 *
 * Row numbers arrive as JS numbers, which CEL types as `double`; integer literals are `int`.
 * Strict CEL would reject `quantity * 2`, so mixed int/double arithmetic is added as overloads:
 * it is what every user writes, and the result is a double, as in any SQL engine.
 */
const env = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false });
const ARITH: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
};
for (const [op, f] of Object.entries(ARITH)) {
  env.registerOperator(`double ${op} int`, (a: number, b: bigint) => f(a, Number(b)));
  env.registerOperator(`int ${op} double`, (a: bigint, b: number) => f(Number(a), b));
}
// The CEL strings extension's replace (all occurrences, or the first n).
env.registerFunction('string.replace(string, string): string', (s: string, from: string, to: string) =>
  s.replaceAll(from, to),
);
env.registerFunction(
  'string.replace(string, string, int): string',
  (s: string, from: string, to: string, n: bigint) => {
    let out = s;
    let at = 0;
    for (let i = 0n; i < n; i++) {
      const k = out.indexOf(from, at);
      if (k < 0) break;
      out = out.slice(0, k) + to + out.slice(k + from.length);
      at = k + to.length;
    }
    return out;
  },
);

// `matches` runs on RE2, in linear time (internal/cel-matches.ts).
registerMatches(env);

type Compiled = ((ctx: Record<string, unknown>) => unknown) & { ast: unknown };

export interface Expression {
  readonly source: string;
  /** Evaluates against one row; throws with the expression and reason when it cannot. */
  evaluate(row: Row): unknown;
}

/**
 * How deeply an expression may nest its operators. A sum of 250 terms is 250 levels; evaluating
 * and walking the tree recurse once per level, and ~3,000 levels overflowed the stack.
 */
export const MAX_EXPRESSION_DEPTH = 250;

/** Parses `source`, or says why it is not a valid CEL expression Sluice can run. */
function parse(source: string): { fn: Compiled } | { problem: string } {
  const quoted = JSON.stringify(source.length > 200 ? `${source.slice(0, 200)}…` : source);
  let fn: Compiled;
  try {
    fn = env.parse(source) as Compiled;
  } catch (err) {
    const reason =
      err instanceof RangeError ? `nested deeper than ${MAX_EXPRESSION_DEPTH} levels` : firstLine(err);
    return { problem: `invalid CEL expression ${quoted}: ${reason}` };
  }
  // Each operator level is an op node and its args array in the tree.
  if (nestingDepthIssue(fn.ast, 2 * MAX_EXPRESSION_DEPTH + 2)) {
    return {
      problem:
        `CEL expression ${quoted} is nested deeper than ${MAX_EXPRESSION_DEPTH} levels: split it into ` +
        'several map steps',
    };
  }
  const pattern = useRe2(fn.ast);
  return pattern === null ? { fn } : { problem: `CEL expression ${quoted}: ${pattern}` };
}

/** Why `source` is not a valid CEL expression, or null: checks configs before anything runs. */
export function celProblem(source: string): string | null {
  const parsed = parse(source);
  return 'problem' in parsed ? parsed.problem : null;
}

/**
 * Compiles once per run. Only the identifiers the expression names are copied into the context
 * for each row (measured: building a full `{...row}` per row costs more than the evaluation).
 */
export function compileExpression(
  source: string,
  params: Readonly<Record<string, unknown>>,
  where: string,
  /** Off only in tests that compare the fast path with cel-js. @defaultValue true */
  fastPath = true,
): Expression {
  const parsed = parse(source);
  if ('problem' in parsed) {
    throw new SluiceError(ErrorCode.EXPRESSION, `${where}: ${parsed.problem}`, {
      issues: [{ path: where, message: parsed.problem }],
    });
  }
  const fn = parsed.fn;
  // The RE2 method's name must not reach a user: see renameInError.
  const evaluate = source.includes('matches') ? withMatchesName(fn) : fn;
  const names = [...freeIdentifiers(fn.ast)].filter((n) => n !== 'row' && n !== 'params');
  // A field called `constructor` or `toString` must not read Object.prototype's function.
  const inherited = names.map((n) => n in Object.prototype);
  const ctx: Record<string, unknown> = { params };
  const fast = fastPath ? compileFast(fn.ast) : undefined;
  return {
    source,
    evaluate(row) {
      if (fast !== undefined) {
        const v = fast(row);
        if (v !== MISS) return v;
      }
      ctx.row = row;
      for (let i = 0; i < names.length; i++) {
        const n = names[i]!;
        // An absent field is null, not an unknown variable: rows in a flow are often sparse.
        const v = inherited[i] && !Object.hasOwn(row, n) ? undefined : row[n];
        ctx[n] = v === undefined ? null : v;
      }
      return evaluate(ctx);
    },
  };
}

function withMatchesName(fn: Compiled): (ctx: Record<string, unknown>) => unknown {
  return (ctx) => {
    try {
      return fn(ctx);
    } catch (err) {
      throw renameInError(err);
    }
  };
}

/** CEL integers are BigInt; rows carry numbers (or strings beyond 2^53 to lose no digits). */
export function toRowValue(v: unknown): unknown {
  if (typeof v === 'bigint') {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  }
  if (Array.isArray(v)) return v.map(toRowValue);
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Map) return plainObject([...v].map(([k, x]) => [String(k), x]));
  const proto = Object.getPrototypeOf(v);
  // A map literal (`{"qty": 1}`) is a plain object whose integers are BigInt too.
  if (proto === Object.prototype || proto === null) return plainObject(Object.entries(v));
  // cel-js's uint holds a bigint (its class is not exported); a duration prints as `90s`.
  const primitive = (v as { valueOf(): unknown }).valueOf();
  if (typeof primitive === 'bigint') return toRowValue(primitive);
  if (proto?.constructor?.name === 'Duration') return String(v);
  return v;
}

/** An object of `entries`, values made row values; `__proto__` stays a key (assigning it would not). */
function plainObject(entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries) {
    if (k === '__proto__')
      Object.defineProperty(out, k, {
        value: toRowValue(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else out[k] = toRowValue(x);
  }
  return out;
}

export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

type Node = { op: string; args: unknown };

/** cel-js's macros whose first argument names a variable (its src/macros.js; `cel.bind(x, …)`). */
const BINDING_MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter', 'bind']);

/** Identifiers that are not bound by a comprehension macro (`list.exists(x, ...)` binds x). */
function freeIdentifiers(
  ast: unknown,
  bound: ReadonlySet<string> = new Set(),
  out = new Set<string>(),
): Set<string> {
  if (Array.isArray(ast)) {
    for (const a of ast) freeIdentifiers(a, bound, out);
    return out;
  }
  if (!ast || typeof ast !== 'object') return out;
  const node = ast as Node;
  if (node.op === 'id' && typeof node.args === 'string') {
    if (!bound.has(node.args)) out.add(node.args);
    return out;
  }
  if (node.op === 'rcall' && Array.isArray(node.args)) {
    const [method, target, args] = node.args as [string, unknown, unknown[]];
    freeIdentifiers(target, bound, out);
    const first = Array.isArray(args) ? (args[0] as Node | undefined) : undefined;
    // Only a macro binds its first argument: `s.replace(sep, "_")` reads the field sep.
    if (
      BINDING_MACROS.has(method) &&
      first?.op === 'id' &&
      typeof first.args === 'string' &&
      args.length >= 2
    ) {
      const inner = new Set(bound).add(first.args);
      for (const a of args.slice(1)) freeIdentifiers(a, inner, out);
      return out;
    }
    freeIdentifiers(args, bound, out);
    return out;
  }
  freeIdentifiers(node.args, bound, out);
  return out;
}
