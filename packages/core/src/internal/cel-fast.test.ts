import { describe, expect, it } from 'vitest';
import { compileExpression } from '../expression.ts';
import { compileFast, MISS } from './cel-fast.ts';
import { RE2_MATCHES } from './cel-matches.ts';

const values: unknown[] = [
  0,
  -0,
  1,
  2.5,
  -3,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  1e308,
  'a',
  'b',
  '',
  'ü日本🚚',
  'A',
  true,
  false,
  null,
  undefined,
  5n,
  [1],
  { k: 1 },
];
const expressions = [
  'a == b',
  'a != b',
  'a < b',
  'a <= b',
  'a > b',
  'a >= b',
  'a * b',
  'a + b',
  'a - b',
  'a / b',
  'a == true',
  'a == 2.5',
  'a == "a"',
  'a != 1.0',
  '!a',
  'a && b',
  'a || b',
  '!(a == b) || a > 1.5',
  'a.upperAscii()',
  'a.lowerAscii()',
  'a == 1',
  'a * 2',
  'a.upperAscii() == b',
  'a + b * 2.0',
  'a.matches("^[a-z]$")',
  'a.matches(b)',
  'matches(a, "b")',
  'matches(a, b)',
];

/** What cel-js gives: a value, or the error it throws. */
function outcome(evaluate: () => unknown): unknown {
  try {
    return { value: evaluate() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('fast CEL evaluation', () => {
  it('gives what cel-js gives wherever it answers, for every pair of operand types', () => {
    for (const source of expressions) {
      const fast = compileExpression(source, {}, 'test');
      const slow = compileExpression(source, {}, 'test', false);
      for (const a of values) {
        for (const b of values) {
          const row = { a, b };
          expect(
            outcome(() => fast.evaluate(row)),
            `${source} with a=${String(a)}, b=${String(b)}`,
          ).toEqual(outcome(() => slow.evaluate(row)));
        }
      }
    }
  });

  it('answers the usual expressions itself and leaves the rest to CEL', () => {
    const fn = compileFast({
      op: '*',
      args: [
        { op: 'id', args: 'a' },
        { op: 'id', args: 'b' },
      ],
    })!;
    expect(fn({ a: 2, b: 3.5 })).toBe(7);
    expect(fn({ a: 2, b: null })).toBe(MISS);
    expect(fn({ a: 2 })).toBe(MISS);
    expect(compileFast({ op: 'id', args: 'params' })).toBeUndefined();
    expect(compileFast({ op: 'id', args: 'toString' })).toBeUndefined();
    expect(compileFast({ op: 'value', args: 1n })).toBeUndefined();
    expect(compileFast({ op: 'rcall', args: ['size', { op: 'id', args: 'a' }, []] })).toBeUndefined();
  });

  it('runs matches() on the same RE2 patterns, leaving a pattern RE2 refuses to CEL', () => {
    const a = { op: 'id', args: 'a' };
    const b = { op: 'id', args: 'b' };
    const fn = compileFast({ op: 'rcall', args: [RE2_MATCHES, a, [{ op: 'value', args: '(x+)+$' }]] })!;
    expect(fn({ a: `${'x'.repeat(10_000)}!` })).toBe(false);
    expect(fn({ a: 1 })).toBe(MISS);
    const dynamic = compileFast({ op: 'call', args: ['matches', [a, b]] })!;
    expect(dynamic({ a: 'ab', b: '^a' })).toBe(true);
    expect(dynamic({ a: 'ab', b: 'a(?=b)' })).toBe(MISS);
  });
});
