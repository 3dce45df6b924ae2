import { describe, expect, it } from 'vitest';
import { ConfigError, compileExpression, ErrorCode, planPipeline } from '../../src/index.ts';
import { testRegistry } from '../helpers/connectors.ts';

// User-supplied regular expressions ran on JavaScript's backtracking RegExp: `(a+)+$` against 27
// `a`s and a `!` blocked the event loop for 3 s (each further `a` doubles it) when a spec was
// validated, in CEL's `matches` and in the validate transform. They now run on RE2, in linear time.
// 29 `a`s took ~12 s before; the bound below is generous, the point is that it does not explode.
const input = `${'a'.repeat(29)}!`;
const flow = [
  { source: 'count', with: { rows: 1 } },
  { sink: 'json-table', with: { path: 'out.json' } },
];

function timed<T>(f: () => T): { value: T | undefined; error: unknown; ms: number } {
  const started = performance.now();
  try {
    return { value: f(), error: undefined, ms: performance.now() - started };
  } catch (error) {
    return { value: undefined, error, ms: performance.now() - started };
  }
}

describe('a catastrophic pattern', () => {
  it('in a parameter schema is checked at once when the spec is validated', () => {
    const spec = {
      name: 'redos',
      parameters: {
        type: 'object',
        properties: { code: { type: 'string', pattern: '(a+)+$', default: input } },
      },
      flow,
    };
    const { error, ms } = timed(() => planPipeline(spec, { registry: testRegistry(), env: {} }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe(ErrorCode.PARAMS);
    expect((error as ConfigError).issues).toEqual([
      { path: 'params.code', message: 'must match pattern "(a+)+$"' },
    ]);
    expect(ms).toBeLessThan(2000);
  });

  it.each([true, false])('in CEL matches() is evaluated at once (fast path: %s)', (fast) => {
    const expr = compileExpression('s.matches("(a+)+$")', {}, 'with.where', fast);
    const { value, ms } = timed(() => expr.evaluate({ s: input }));
    expect(value).toBe(false);
    expect(ms).toBeLessThan(2000);
  });
});

describe('a pattern RE2 cannot run', () => {
  it('in a parameter schema is refused at its path when the spec is checked', () => {
    const spec = {
      name: 'lookahead',
      parameters: { type: 'object', properties: { code: { type: 'string', pattern: '^(?=x)\\w+' } } },
      flow,
    };
    const { error } = timed(() => planPipeline(spec, { registry: testRegistry(), env: {} }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe(ErrorCode.SPEC);
    expect((error as ConfigError).issues).toEqual([
      {
        path: 'parameters.properties.code.pattern',
        message: expect.stringMatching(/lookahead and lookbehind .* not supported: patterns use RE2 syntax/),
      },
    ]);
  });
});
