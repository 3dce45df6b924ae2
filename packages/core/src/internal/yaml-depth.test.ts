import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { yamlTooDeepAt } from './yaml-depth.ts';

describe('yamlTooDeepAt', () => {
  it('bounds flow and block nesting from the tokens', () => {
    expect(yamlTooDeepAt('[[[1]]]', 3)).toBe(-1);
    expect(yamlTooDeepAt('[[[[1]]]]', 3)).toBe(3);
    expect(yamlTooDeepAt('- - - - 1', 3)).toBe(6);
    expect(yamlTooDeepAt('a:\n b:\n  c:\n   d: 1\n', 3)).toBe(16);
    expect(yamlTooDeepAt('a: 1\nb: [1, {c: 2}]\n', 3)).toBe(-1);
  });

  it('does not count what is inside scalars', () => {
    const text = 'a: "[[[[[["\nb: |\n  [[[[[[\n      {{{{\nc: \'- - - -\'\n# [[[[[[\n';
    expect(parse(text)).toEqual({ a: '[[[[[[', b: '[[[[[[\n    {{{{\n', c: '- - - -' });
    expect(yamlTooDeepAt(text, 3)).toBe(-1);
  });

  it('scans 100,000 open brackets without recursion', () => {
    expect(yamlTooDeepAt('['.repeat(100_000), 256)).toBe(256);
  });
});
