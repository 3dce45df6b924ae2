import type { Row } from '../connector.ts';
import { RE2_MATCHES } from './cel-matches.ts';
import { compilePattern, tryCompilePattern } from './regex.ts';

/**
 * Plain-JS evaluation of the commonest CEL over rows: fields compared with or combined with
 * literals and other fields, `&&`, `||`, `!`, `upperAscii()`/`lowerAscii()`, `matches()`. Measured on the 1M-row
 * benchmark: cel-js's evaluator took ~0.3 µs a row for `active == true` and `amount * quantity`,
 * most of it finding the operator's overload for the operand types at run time.
 *
 * It gives an answer only where the result cannot differ from cel-js's: both operands of the same
 * JS type (doubles, strings, bools), where cel-js runs the same JS operator. Anything else — a null,
 * an int literal, mixed types, an error to report — returns MISS and the caller evaluates with CEL.
 */
export const MISS: unique symbol = Symbol('cel-fast miss');

export type FastFn = (row: Row) => unknown;

type Node = { op: string; args: unknown };

const ARITH: Record<string, (a: number, b: number) => number> = {
  '*': (a, b) => a * b,
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '/': (a, b) => a / b,
};
const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** A fast evaluator for `ast`, or undefined when it uses anything this does not cover. */
export function compileFast(ast: unknown): FastFn | undefined {
  const node = ast as Node;
  const args = node.args;
  switch (node.op) {
    case 'id': {
      if (typeof args !== 'string' || args === 'row' || args === 'params') return undefined;
      // As compileExpression reads fields: absent is null, Object.prototype's names are not fields.
      if (args in Object.prototype) return undefined;
      return (row) => {
        const v = row[args];
        return v === undefined ? null : v;
      };
    }
    case 'value':
      // Ints are BigInt, null and the rest have their own rules: left to CEL.
      if (typeof args !== 'boolean' && typeof args !== 'string' && typeof args !== 'number') return undefined;
      return () => args;
    case '!': {
      const a = compileFast(args);
      if (a === undefined) return undefined;
      return (row) => {
        const v = a(row);
        return typeof v === 'boolean' ? !v : MISS;
      };
    }
    case '&&':
    case '||':
      return logical(node.op, args as unknown[]);
    case '==':
    case '!=':
      return equality(node.op === '==', args as unknown[]);
    case 'rcall':
      return call(args as [string, unknown, unknown[]]);
    case 'call': {
      // CEL's global `matches(s, re)`.
      const [name, list] = args as [string, unknown[]];
      return name === 'matches' && Array.isArray(list) && list.length === 2
        ? matches(list[0], list[1])
        : undefined;
    }
    default: {
      const arith = ARITH[node.op];
      const compare = COMPARE[node.op];
      if (arith === undefined && compare === undefined) return undefined;
      const [a, b] = pair(args as unknown[]);
      if (a === undefined || b === undefined) return undefined;
      if (compare !== undefined) {
        return (row) => {
          const x = a(row);
          const y = b(row);
          return typeof x === 'number' && typeof y === 'number' ? compare(x, y) : MISS;
        };
      }
      const concat = node.op === '+';
      return (row) => {
        const x = a(row);
        const y = b(row);
        if (typeof x === 'number' && typeof y === 'number') return arith!(x, y);
        if (concat && typeof x === 'string' && typeof y === 'string') return x + y;
        return MISS;
      };
    }
  }
}

function pair(args: unknown[]): [FastFn | undefined, FastFn | undefined] {
  if (!Array.isArray(args) || args.length !== 2) return [undefined, undefined];
  return [compileFast(args[0]), compileFast(args[1])];
}

function logical(op: '&&' | '||', args: unknown[]): FastFn | undefined {
  const [a, b] = pair(args);
  if (a === undefined || b === undefined) return undefined;
  const decides = op === '||';
  return (row) => {
    const x = a(row);
    if (typeof x !== 'boolean') return MISS;
    // `false && anything` is false and `true || anything` true in CEL, errors included.
    if (x === decides) return x;
    const y = b(row);
    return typeof y === 'boolean' ? y : MISS;
  };
}

function equality(equal: boolean, args: unknown[]): FastFn | undefined {
  const [a, b] = pair(args);
  if (a === undefined || b === undefined) return undefined;
  return (row) => {
    const x = a(row);
    const y = b(row);
    const t = typeof x;
    if (t !== typeof y || (t !== 'number' && t !== 'string' && t !== 'boolean')) return MISS;
    return (x === y) === equal;
  };
}

function call([name, target, args]: [string, unknown, unknown[]]): FastFn | undefined {
  if (name === RE2_MATCHES && Array.isArray(args) && args.length === 1) return matches(target, args[0]);
  if ((name !== 'upperAscii' && name !== 'lowerAscii') || !Array.isArray(args) || args.length > 0) {
    return undefined;
  }
  const t = compileFast(target);
  if (t === undefined) return undefined;
  // cel-js implements them as toUpperCase and toLowerCase.
  const upper = name === 'upperAscii';
  return (row) => {
    const v = t(row);
    if (typeof v !== 'string') return MISS;
    return upper ? v.toUpperCase() : v.toLowerCase();
  };
}

/**
 * `s.matches(re)` on the same RE2 patterns as the CEL function (cel-matches.ts). A literal pattern
 * is compiled here (compileExpression has checked it); one from a field is looked up per row, and a
 * pattern RE2 cannot run is left to CEL, which reports why.
 */
function matches(target: unknown, pattern: unknown): FastFn | undefined {
  const t = compileFast(target);
  if (t === undefined) return undefined;
  const lit = pattern as Node;
  if (lit.op === 'value' && typeof lit.args === 'string') {
    const re = compilePattern(lit.args);
    return (row) => {
      const v = t(row);
      return typeof v === 'string' ? re.test(v) : MISS;
    };
  }
  const p = compileFast(pattern);
  if (p === undefined) return undefined;
  return (row) => {
    const v = t(row);
    const source = p(row);
    if (typeof v !== 'string' || typeof source !== 'string') return MISS;
    const re = tryCompilePattern(source);
    return re === undefined ? MISS : re.test(v);
  };
}
