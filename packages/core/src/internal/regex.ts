import { RE2JS } from 're2js';
import { ErrorCode, SluiceError } from '../errors.ts';

/**
 * Every regular expression a user supplies (a JSON Schema `pattern`, CEL's `matches`) runs on
 * RE2JS, whose matching takes time linear in the input. JavaScript's backtracking RegExp takes
 * exponential time on patterns such as `(a+)+$`: 27 `a`s and a `!` blocked the event loop for 3 s,
 * one request froze the whole platform. RE2 has no backreferences or lookaround, the features that
 * make linear time impossible; a pattern using them is refused with a message saying so.
 *
 * Measured against V8 on `^[A-Z]{3}-\d+$` over 1M strings: ~0.45 µs a test (V8 ~0.03 µs) and
 * ~0.25 ms a compile, hence the cache.
 */

/** `re2`: CEL's dialect. `ecma`: JSON Schema's (ECMA-262), translated to RE2 first (`\u00e9`, `\cA`). */
export type Dialect = 're2' | 'ecma';

export interface Pattern {
  /** True when the pattern matches anywhere in `s` (anchor with `^…$` to match all of it). */
  test(s: string): boolean;
}

const RE2_SYNTAX = 'https://github.com/google/re2/wiki/Syntax';
// Patterns are usually constants, but a CEL pattern may come from a field: bounded, oldest out.
const CACHE_SIZE = 500;
const cache = new Map<string, Pattern | string>();

/** The compiled pattern; throws CONFIG_INVALID with an actionable message when RE2 cannot run it. */
export function compilePattern(source: string, dialect: Dialect = 're2'): Pattern {
  const compiled = lookup(source, dialect);
  if (typeof compiled === 'string') throw new SluiceError(ErrorCode.CONFIG, compiled);
  return compiled;
}

/** The compiled pattern, or undefined when RE2 cannot run it (the caller reports why elsewhere). */
export function tryCompilePattern(source: string, dialect: Dialect = 're2'): Pattern | undefined {
  const compiled = lookup(source, dialect);
  return typeof compiled === 'string' ? undefined : compiled;
}

/** Why `source` cannot be used as a pattern, or null when it can. */
export function patternProblem(source: string, dialect: Dialect = 're2'): string | null {
  const compiled = lookup(source, dialect);
  return typeof compiled === 'string' ? compiled : null;
}

function lookup(source: string, dialect: Dialect): Pattern | string {
  const key = `${dialect}:${source}`;
  let compiled = cache.get(key);
  if (compiled === undefined) {
    compiled = compile(source, dialect);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    cache.set(key, compiled);
  }
  return compiled;
}

function compile(source: string, dialect: Dialect): Pattern | string {
  try {
    return RE2JS.compile(dialect === 'ecma' ? RE2JS.translateRegExp(source) : source);
  } catch (err) {
    return `invalid regular expression ${JSON.stringify(source)}: ${reason(source, err)}`;
  }
}

function reason(source: string, err: unknown): string {
  const unsupported = unsupportedFeature(source);
  if (unsupported)
    return (
      `${unsupported} are not supported: patterns use RE2 syntax, which matches in linear time ` +
      '(no backreferences or lookaround); rewrite the pattern without them'
    );
  const message = err instanceof Error ? err.message : String(err);
  return `${message.replace(/^error parsing regexp: /, '')} (patterns use RE2 syntax: ${RE2_SYNTAX})`;
}

/**
 * Names the Perl/JavaScript feature RE2 lacks, if `source` uses one: RE2's own message for a
 * lookbehind is "invalid named capture", which sends the reader the wrong way.
 */
function unsupportedFeature(source: string): string | null {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && (/[1-9]/.test(next) || (next === 'k' && source[i + 2] === '<')))
        return 'backreferences (`\\1`, `\\k<name>`)';
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') inClass = true;
    else if (c === '(' && /^\(\?(?:=|!|<=|<!)/.test(source.slice(i, i + 4)))
      return 'lookahead and lookbehind (`(?=`, `(?!`, `(?<=`, `(?<!`)';
  }
  return null;
}

/**
 * Ajv's `code.regExp` engine: `pattern`, `patternProperties` and `propertyNames` patterns of every
 * schema run on RE2. Ajv keys compiled patterns by `toString()` (one object per distinct string), so
 * each must print differently. `code` is only read by Ajv's standalone code generation, which
 * Sluice does not use; it must not be "new RegExp", which Ajv inlines as the native engine.
 */
export const ajvRegExp = Object.assign(
  (source: string, _flags: string) => {
    const compiled = compilePattern(source, 'ecma');
    return { test: (s: string) => compiled.test(s), toString: () => `re2:${source}` };
  },
  { code: 'sluiceRe2' },
);
