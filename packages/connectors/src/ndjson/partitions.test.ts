import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validConfig } from '../../test/harness.ts';
import { expectPartsReadTheWhole, expectResumesInside, plan } from '../shared/part-cases.ts';
import { ndjsonSource } from './source.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-ndjson-parts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ndjson partitions', () => {
  it('cut one file at line feeds, with bad lines quarantined at their absolute lines, and resume', async () => {
    const lines: string[] = [];
    for (let i = 1; i <= 1000; i++)
      lines.push(
        i % 61 === 0
          ? `{"id": ${i}, broken`
          : i % 17 === 0
            ? ''
            : JSON.stringify({ id: i, s: 'é'.repeat(i % 9) }),
      );
    await writeFile(join(dir, 'events.ndjson'), `${lines.join('\n')}\n`);
    const config = { path: 'events.ndjson', batchSize: 25, chunkSize: 700 };
    for (let n = 1; n <= 7; n++) {
      const parts = await plan(dir, ndjsonSource, config, n);
      expect(parts).toHaveLength(n);
      const { reads } = await expectPartsReadTheWhole(dir, ndjsonSource, config, parts);
      if (n === 3)
        for (let i = 0; i < n; i++)
          await expectResumesInside(dir, ndjsonSource, config, parts[i]!, reads[i]!);
    }
  });

  it('check refuses a compressed file and incremental', () => {
    const check = (c: Record<string, unknown>) =>
      ndjsonSource.partitions!.check!(validConfig(ndjsonSource, { path: 'e.ndjson', ...c }));
    expect(check({})).toBeUndefined();
    expect(check({ path: 'e.ndjson.zst' })).toMatch(/^e\.ndjson\.zst is compressed/);
    expect(check({ path: 'in/*.ndjson.gz' })).toBeUndefined();
    expect(check({ path: 'in/*.ndjson', incremental: true })).toMatch(/^incremental: true/);
  });
});
