import { describe, expect, it } from 'vitest';
import { compileExpression } from '../expression.ts';
import { compileFast, MISS } from './cel-fast.ts';

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
});
