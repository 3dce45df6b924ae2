import { describe, expect, it } from 'vitest';
import { MAX_SPEC_DEPTH, nestingDepthIssue } from './depth.ts';

function nest(levels: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 1; i < levels; i++) v = i % 2 ? { a: v } : [v];
  return levels > 0 ? { a: v } : v;
}

describe('nestingDepthIssue', () => {
  it('counts the document as level 1 and allows exactly the limit', () => {
    expect(nestingDepthIssue(1, 1)).toBeNull();
    expect(nestingDepthIssue({}, 1)).toBeNull();
    expect(nestingDepthIssue({ a: {} }, 1)).toEqual({ path: 'a', message: 'nested deeper than 1 levels' });
    expect(nestingDepthIssue(nest(MAX_SPEC_DEPTH), MAX_SPEC_DEPTH)).toBeNull();
    expect(nestingDepthIssue(nest(MAX_SPEC_DEPTH + 1), MAX_SPEC_DEPTH)?.message).toBe(
      'nested deeper than 64 levels',
    );
  });

  it('reports the first deep place in document order, at its path under the base', () => {
    const value = { ok: [1, 2], 'odd key': [{ x: [[]] }], later: { y: { z: {} } } };
    expect(nestingDepthIssue(value, 4, 'body')).toEqual({
      path: 'body["odd key"][0].x[0]',
      message: 'nested deeper than 4 levels',
    });
    expect(nestingDepthIssue([[[]]], 2)).toEqual({ path: '[0][0]', message: 'nested deeper than 2 levels' });
  });

  it('walks 100,000 levels without recursion', () => {
    expect(nestingDepthIssue(nest(100_000), MAX_SPEC_DEPTH)?.path).toMatch(/^a\.a\[0\]\.a\[0\]/);
  });

  it('treats a cycle as too deep and visits shared values a bounded number of times', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(nestingDepthIssue(cyclic, 10)?.path).toBe('self.self.self.self.self.self.self.self.self.self');
    // 2^60 paths through 60 shared levels: finishes because each object is expanded once per depth.
    let shared: unknown = {};
    for (let i = 0; i < 60; i++) shared = { l: shared, r: shared };
    expect(nestingDepthIssue(shared, MAX_SPEC_DEPTH)).toBeNull();
  });
});
