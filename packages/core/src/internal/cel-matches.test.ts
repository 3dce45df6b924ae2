import { describe, expect, it } from 'vitest';
import { ErrorCode, SluiceError } from '../errors.ts';
import { celProblem, compileExpression } from '../expression.ts';

const both = [true, false].map((fast) => [fast ? 'fast path' : 'cel-js', fast] as const);

describe.each(both)('matches (%s)', (_name, fast) => {
  const evaluate = (source: string, row: Record<string, unknown>) =>
    compileExpression(source, {}, 'with.where', fast).evaluate(row);

  it('runs the method and the global form on RE2', () => {
    expect(evaluate('code.matches("^[A-Z]{3}-\\\\d+$")', { code: 'ABC-12' })).toBe(true);
    expect(evaluate('code.matches("^[A-Z]{3}-\\\\d+$")', { code: 'ab-12' })).toBe(false);
    expect(evaluate('matches(code, "B+")', { code: 'aBBc' })).toBe(true);
    expect(evaluate('code.matches(re)', { code: 'xyz', re: 'y' })).toBe(true);
    expect(evaluate('"é".matches("^.$")', {})).toBe(true);
  });

  it('finishes on a catastrophic pattern and a long input', () => {
    const s = `${'a'.repeat(10_000)}!`;
    expect(evaluate('s.matches("(a+)+$")', { s })).toBe(false);
    expect(evaluate('s.matches(re)', { s, re: '(a|aa)*$' })).toBe(true);
  });

  it('fails the row with the reason for a pattern from a field RE2 cannot run', () => {
    expect(() => evaluate('s.matches(re)', { s: 'ab', re: 'a(?=b)' })).toThrow(
      /invalid regular expression "a\(\?=b\)": lookahead and lookbehind .* not supported/,
    );
  });

  it('names the method `matches` in type errors', () => {
    let message = '';
    try {
      evaluate('n.matches("a")', { n: 5 });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/no matching overload for 'double\.matches\(string\)'/);
    expect(message).not.toMatch(/Re2/i);
  });
});

describe('a literal pattern RE2 cannot run', () => {
  it('is refused when the expression compiles, at its config path', () => {
    let error: unknown;
    try {
      compileExpression('name.matches("(\\\\w)\\\\1")', {}, 'load.1:filter with.where');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe(ErrorCode.EXPRESSION);
    expect((error as SluiceError).issues).toEqual([
      { path: 'load.1:filter with.where', message: expect.stringMatching(/backreferences .* not supported/) },
    ]);
  });

  it('is a problem when configs are checked', () => {
    expect(celProblem('matches(name, "a(?<!b)")')).toMatch(/^CEL expression .*: invalid regular expression/);
    expect(celProblem('name.matches("^a+$")')).toBeNull();
  });
});
