import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ErrorCode,
  MAX_SPEC_DEPTH,
  normalizeSpec,
  parseSpecText,
  planPipeline,
  SluiceError,
} from '../../src/index.ts';
import { testRegistry } from '../helpers/connectors.ts';

// A spec with an object nested ~2,000 deep failed with "Maximum call stack size exceeded" as an
// INTERNAL error; in YAML the parser could even end the process ("RegExpCompiler Allocation
// failed", from `[` × 2,000). Both are now refused as SPEC_INVALID saying where.
function deep(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}
const spec = (x: unknown) => ({
  name: 'deep',
  flow: [
    { source: 'count', with: { rows: 1, x } },
    { sink: 'json-table', with: { path: 'out.json' } },
  ],
});

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('a deeply nested spec', () => {
  it('is refused with the path of the first level too deep', () => {
    for (const check of [
      () => normalizeSpec(spec(deep(2000))),
      () => planPipeline(spec(deep(2000)), { registry: testRegistry(), env: {} }),
    ]) {
      const err = thrown(check);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).code).toBe(ErrorCode.SPEC);
      const [issue, ...rest] = (err as ConfigError).issues;
      expect(rest).toEqual([]);
      expect(issue!.message).toBe('nested deeper than 64 levels');
      // The document is level 1 and x level 5: the first level too deep, 65, is 60 `.a` below x.
      expect(issue!.path).toBe(`flow[0].with.x${'.a'.repeat(MAX_SPEC_DEPTH - 4)}`);
    }
  });

  it('is accepted up to the limit', () => {
    expect(() => normalizeSpec(spec(deep(MAX_SPEC_DEPTH - 4)))).not.toThrow();
    expect(() => normalizeSpec(spec(deep(MAX_SPEC_DEPTH - 3)))).toThrow(/nested deeper than 64 levels/);
  });

  it('in YAML is refused before the parser recurses', () => {
    for (const text of [
      '['.repeat(100_000) + ']'.repeat(100_000),
      `${'- '.repeat(2000)}1\n`,
      '{a: '.repeat(5000),
    ]) {
      const err = thrown(() => parseSpecText(text, 'deep.yaml'));
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).code).toBe(ErrorCode.SPEC);
      expect((err as SluiceError).message).toMatch(
        /^deep\.yaml: nested too deeply at line 1, column \d+: a pipeline spec nests objects and lists at most 64 levels deep$/,
      );
    }
  });
});
