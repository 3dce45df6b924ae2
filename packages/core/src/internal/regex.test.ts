import { describe, expect, it } from 'vitest';
import { SluiceError } from '../errors.ts';
import { ajvRegExp, compilePattern, patternProblem, tryCompilePattern } from './regex.ts';

describe('compilePattern', () => {
  it('finds a match anywhere, as RegExp.test does', () => {
    const re = compilePattern('^[A-Z]{3}-\\d+$');
    expect(re.test('ABC-123')).toBe(true);
    expect(re.test('AB-123')).toBe(false);
    expect(compilePattern('b+').test('abbbc')).toBe(true);
    expect(compilePattern('(?i)hello').test('HeLLo world')).toBe(true);
  });

  it('matches catastrophic patterns in linear time', () => {
    const input = `${'a'.repeat(10_000)}!`;
    expect(compilePattern('(a+)+$').test(input)).toBe(false);
    expect(compilePattern('^(a|aa)*$').test(input)).toBe(false);
    expect(compilePattern('(x+x+)+y').test('x'.repeat(10_000))).toBe(false);
  });

  it('reads JSON Schema patterns as JavaScript writes them', () => {
    expect(compilePattern('^caf\\u00e9$', 'ecma').test('café')).toBe(true);
    expect(patternProblem('^caf\\u00e9$', 're2')).toMatch(/invalid escape sequence/);
  });

  it('says why RE2 refuses a pattern, and what to do', () => {
    expect(patternProblem('(a)\\1')).toMatch(
      /^invalid regular expression "\(a\)\\\\1": backreferences .* not supported: patterns use RE2 syntax/,
    );
    expect(patternProblem('(?<n>a)\\k<n>')).toMatch(/backreferences/);
    expect(patternProblem('a(?=b)')).toMatch(
      /lookahead and lookbehind .* not supported.*rewrite the pattern/,
    );
    expect(patternProblem('a(?!b)')).toMatch(/lookahead/);
    expect(patternProblem('(?<=a)b')).toMatch(/lookahead and lookbehind/);
    expect(patternProblem('(?<!a)b')).toMatch(/lookahead and lookbehind/);
    expect(patternProblem('[')).toMatch(/missing closing \].*RE2 syntax: https:/);
    // Escaped or inside a class, they are ordinary characters.
    expect(patternProblem('\\(?=x')).toBeNull();
    expect(patternProblem('[(?=]')).toBeNull();
    expect(patternProblem('[\\1]')).toMatch(/invalid escape/);
    expect(() => compilePattern('a(?=b)')).toThrow(SluiceError);
    expect(tryCompilePattern('a(?=b)')).toBeUndefined();
  });
});

describe('ajvRegExp', () => {
  it('prints each pattern differently: Ajv keys its compiled patterns by toString', () => {
    expect(String(ajvRegExp('a+', 'u'))).not.toBe(String(ajvRegExp('b+', 'u')));
    expect(ajvRegExp('^a+$', 'u').test('aaa')).toBe(true);
    expect(ajvRegExp.code).not.toBe('new RegExp');
  });
});
