import type { Environment } from '@marcbachmann/cel-js';
import { compilePattern, patternProblem } from './regex.ts';

/**
 * CEL's `matches` on RE2 (see regex.ts). cel-js 8 implements `string.matches(string)` with
 * JavaScript's RegExp, exponential on `(a+)+$`, and its registry refuses a second overload of a
 * signature; so parsed expressions have the method renamed to this one, which runs RE2. The name
 * shows in no message a user sees: `renameInError` puts `matches` back.
 */
export const RE2_MATCHES = 'sluiceRe2Matches';

const test = (s: string, re: string) => compilePattern(re).test(s);

/** Registers the RE2 method and CEL's global `matches(string, string)`, which cel-js lacks. */
export function registerMatches(env: Environment): void {
  env.registerFunction(`string.${RE2_MATCHES}(string): bool`, test);
  env.registerFunction('matches(string, string): bool', test);
}

type Node = { op: string; args: unknown };

/**
 * Renames every `x.matches(re)` in a parsed expression to the RE2 method and returns the problem
 * with its first literal pattern RE2 cannot run (`x.matches("(?=a)")`), or null. Patterns built at
 * run time are checked when used: the row fails with the reason.
 */
export function useRe2(ast: unknown): string | null {
  let problem: string | null = null;
  const check = (arg: unknown) => {
    const lit = arg as Node | undefined;
    if (problem === null && lit?.op === 'value' && typeof lit.args === 'string')
      problem = patternProblem(lit.args);
  };
  // cel-js bounds an expression's nesting (250 levels), so recursion is safe here.
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) {
      for (const x of n) walk(x);
      return;
    }
    if (!n || typeof n !== 'object') return;
    const node = n as Node;
    const args = node.args as unknown[];
    if (
      node.op === 'rcall' &&
      (args[0] === 'matches' || args[0] === RE2_MATCHES) &&
      Array.isArray(args[2]) &&
      args[2].length === 1
    ) {
      args[0] = RE2_MATCHES;
      check(args[2][0]);
    } else if (
      node.op === 'call' &&
      args[0] === 'matches' &&
      Array.isArray(args[1]) &&
      args[1].length === 2
    ) {
      check(args[1][1]);
    }
    walk(node.args);
  };
  walk(ast);
  return problem;
}

/** An error from an expression that uses `matches`, with the method's own name in its message. */
export function renameInError(err: unknown): unknown {
  if (err instanceof Error && err.message.includes(RE2_MATCHES))
    err.message = err.message.replaceAll(RE2_MATCHES, 'matches');
  return err;
}
