import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '@sluice/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { hostileDataFile, runDataFile } from '../../../../bench/fuzz/data.ts';
import { builtinConnectors } from '../../src/index.ts';

// Issue 13: hostile CSV, NDJSON and JSON files through the engine (docs/fuzzing.md). Reproduce a
// failure with the seed fast-check prints: FUZZ_SEED=<seed> npx vitest run <this file>.
// About 8 s; FUZZ_SCALE=10 runs ten times as many files.
const RUNS = Math.ceil(400 * Number(process.env.FUZZ_SCALE ?? 1));
const seedOption = process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {};
const dir = mkdtempSync(join(tmpdir(), 'sluice-fuzz-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hostile data files', () => {
  it('succeed with every row written or quarantined, or fail with a Sluice code, never INTERNAL', async () => {
    const registry = new Registry().register(...builtinConnectors);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(hostileDataFile, async (f) => {
        const o = await runDataFile(f, join(dir, String(n++)), registry);
        expect(o.problems, `${f.format} ${f.name} ${JSON.stringify(f.config)}`).toEqual([]);
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: 80_000, ...seedOption },
    );
  }, 150_000);
});
