import { describe, expect, it } from 'vitest';
import { JsonProblem, type JsonValueOptions, JsonValueReader } from './json-value.ts';

function read(text: string, opts: Partial<JsonValueOptions> = {}): unknown {
  const reader = new JsonValueReader({ bigNumbers: 'quarantine', maxDepth: 1000, ...opts });
  const b = Buffer.from(text);
  return reader.read(text, b, 0, b.length);
}
const nested = (depth: number) => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

describe('JsonValueReader', () => {
  it('reads rows as JSON.parse does when every number is exact', () => {
    const text = '{"a":1,"b":[0.1,-2.5e-3],"c":{"d":"1e400"},"a":2,"__proto__":{"x":1}}';
    expect(read(text)).toEqual(JSON.parse(text));
  });

  it('refuses a lossy number, naming the first one, its path and the count', () => {
    const problem = read('{"a":1,"b b":[{"c":1e400}],"d":12345678901234567890}') as JsonProblem;
    expect(problem).toBeInstanceOf(JsonProblem);
    expect(problem.describe('line 3')).toBe(
      'line 3, field ["b b"][0].c: 1e400 is out of the range of a double (and 1 more such number); ' +
        'set bigNumbers: string to keep it as text',
    );
  });

  it('keeps lossy numbers as their text with bigNumbers: string, and the others as numbers', () => {
    expect(
      read('{"a":1e-400,"b":[123456789012345678901234567890,0.5],"c":"x"}', { bigNumbers: 'string' }),
    ).toEqual({ a: '1e-400', b: ['123456789012345678901234567890', 0.5], c: 'x' });
  });

  it('takes the last of repeated keys, as JSON.parse does', () => {
    expect(read('{"a":12345678901234567890,"a":1}')).toEqual({ a: 1 });
    expect(read('{"a":1,"a":12345678901234567890}', { bigNumbers: 'string' })).toEqual({
      a: '12345678901234567890',
    });
  });

  it('refuses rows nested deeper than maxDepth, however deep, without overflowing', () => {
    expect(read(nested(1000))).toEqual(JSON.parse(nested(1000)));
    for (const depth of [1001, 100_000]) {
      expect((read(nested(depth)) as JsonProblem).describe('line 1')).toBe(
        'line 1 is nested deeper than maxDepth 1000',
      );
    }
    expect(read(nested(4), { maxDepth: 3 })).toBeInstanceOf(JsonProblem);
    expect(read(`{"s":"${'['.repeat(5000)}"}`)).toEqual({ s: '['.repeat(5000) });
  });

  it('throws JSON.parse errors and returns other values for the caller to refuse', () => {
    expect(() => read('{bad')).toThrow(SyntaxError);
    expect(read('[1e400]')).toEqual([Number.POSITIVE_INFINITY]);
  });
});
