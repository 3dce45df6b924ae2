import { ConfigError, ErrorCode, planPipeline, Registry } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { builtinConnectors } from '../../src/index.ts';
import { filterTransform } from '../../src/transforms/filter.ts';
import { mapTransform } from '../../src/transforms/map.ts';
import { validateTransform } from '../../src/transforms/validate.ts';
import { createTransform } from '../harness.ts';

// The filter and map transforms' `matches` and the validate transform's `pattern` ran users'
// regular expressions on JavaScript's backtracking RegExp: one row could block a run (and the
// worker's event loop) for seconds to years. 29 `a`s and a `!` took ~12 s against `(a+)+$`; on RE2
// it is linear. The bounds are generous: the point is that nothing explodes.
const s = `${'a'.repeat(29)}!`;

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await f();
  return { value, ms: performance.now() - started };
}

describe('a catastrophic pattern in a transform', () => {
  it('in filter and map runs in linear time', async () => {
    const filter = await createTransform(filterTransform, { where: 's.matches("(a+)+$")' });
    const filtered = await timed(() => filter.run([{ s }, { s: 'aaa' }]));
    expect(filtered.value).toEqual([{ s: 'aaa' }]);
    expect(filtered.ms).toBeLessThan(2000);
    const map = await createTransform(mapTransform, { set: { ok: 'matches(s, "^(a|aa)+$")' } });
    const mapped = await timed(() => map.run([{ s }]));
    expect(mapped.value).toEqual([{ s, ok: false }]);
    expect(mapped.ms).toBeLessThan(2000);
  });

  it('in validate runs in linear time', async () => {
    const schema = { type: 'object', properties: { s: { type: 'string', pattern: '(a+)+$' } } };
    const validate = await createTransform(validateTransform, { schema });
    const checked = await timed(() => validate.run([{ s }, { s: 'aa' }]));
    expect(checked.value).toEqual([{ s: 'aa' }]);
    expect(validate.harness.quarantined.map((q) => q.reason)).toEqual(['s: must match pattern "(a+)+$"']);
    expect(checked.ms).toBeLessThan(2000);
  });

  it('from a field that RE2 cannot run fails that row with the reason', async () => {
    const filter = await createTransform(filterTransform, { where: 's.matches(re)' });
    expect(
      await filter.run([
        { s: 'ab', re: 'a(?=b)' },
        { s: 'ab', re: '^a' },
      ]),
    ).toEqual([{ s: 'ab', re: '^a' }]);
    expect(filter.harness.quarantined[0]!.reason).toMatch(
      /failed: invalid regular expression "a\(\?=b\)": lookahead and lookbehind .* not supported/,
    );
  });
});

describe('a spec with patterns RE2 cannot run or a schema that is not valid', () => {
  it('is refused when it is checked, each problem at its path', () => {
    const spec = {
      name: 'patterns',
      flow: [
        { source: 'ndjson', with: { path: 'in.ndjson' } },
        { transform: 'filter', with: { where: 'name.matches("(\\\\w+)\\\\1")' } },
        {
          transform: 'validate',
          with: {
            schema: {
              type: 'object',
              properties: { a: { type: 'bogus' }, b: { type: 'string', pattern: '(?<=x)y' } },
            },
          },
        },
        { transform: 'validate', with: { schema: { properties: { c: { $ref: '#/definitions/none' } } } } },
        { sink: 'ndjson', with: { path: 'out.ndjson' } },
      ],
    };
    let error: unknown;
    try {
      planPipeline(spec, { registry: new Registry().register(...builtinConnectors), env: {} });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe(ErrorCode.CONFIG);
    const issues = (error as ConfigError).issues;
    expect(issues.map((i) => i.path)).toEqual([
      'flow[1].with.where',
      'flow[2].with.schema.properties.a.type',
      'flow[2].with.schema.properties.b.pattern',
      'flow[3].with.schema.properties.c.$ref',
    ]);
    expect(issues[0]!.message).toMatch(/invalid regular expression "\(\\\\w\+\)\\\\1": backreferences/);
    expect(issues[1]!.message).toMatch(/must be array or one of: array, boolean/);
    expect(issues[2]!.message).toMatch(/lookahead and lookbehind .* not supported/);
    expect(issues[3]!.message).toMatch(/cannot resolve \$ref "#\/definitions\/none"/);
  });
});
