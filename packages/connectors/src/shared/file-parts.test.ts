import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Json } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validConfig } from '../../test/harness.ts';
import { csvSource } from '../csv/source.ts';
import { jsonSource } from '../json/source.ts';
import { ndjsonSource } from '../ndjson/source.ts';
import { parquetSource } from '../parquet/source.ts';
import { expectPartsReadTheWhole, expectResumesInside, plan, read } from './part-cases.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-glob-parts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('glob partitions', () => {
  it('deal every file to exactly one part, balanced by size, and read as the glob does', async () => {
    const sizes = [50, 900, 10, 300, 300, 120, 700, 5];
    await mkdir(join(dir, 'glob'));
    for (const [i, n] of sizes.entries()) {
      const rows = Array.from({ length: n }, (_, k) => `${i}-${k},${k % 13 === 0 ? 'bad' : k}`);
      await writeFile(join(dir, 'glob', `g${i}.csv`), `id,v\n${rows.join('\n')}\n`);
    }
    const config = { path: 'glob/g*.csv', fileField: 'file', schema: { v: 'integer' }, batchSize: 64 };
    for (const n of [1, 2, 3, 5, 8, 12]) {
      const parts = (await plan(dir, csvSource, config, n)) as { files: string[] }[];
      expect(parts).toHaveLength(Math.min(n, sizes.length));
      const files = parts.flatMap((p) => p.files).sort();
      expect(files).toEqual(sizes.map((_, i) => join(dir, 'glob', `g${i}.csv`)).sort());
      const { whole } = await expectPartsReadTheWhole(
        dir,
        csvSource,
        config,
        parts as unknown as Json[],
        false,
      );
      expect(whole.quarantined.length).toBeGreaterThan(0);
    }
    const three = (await plan(dir, csvSource, config, 3)) as { files: string[] }[];
    // The 900-row file alone is about a third: it gets a part to itself.
    expect(three.some((p) => p.files.length === 1 && p.files[0]!.endsWith('g1.csv'))).toBe(true);
    const again = await read(dir, csvSource, config, three[0] as unknown as Json);
    await expectResumesInside(dir, csvSource, config, three[0] as unknown as Json, again);
  });

  it('fails a part whose file is gone', async () => {
    await expect(
      read(dir, csvSource, { path: 'glob/g*.csv' }, { files: [join(dir, 'glob', 'gone.csv')] }),
    ).rejects.toThrow(/gone\.csv of this partition no longer match config.path/);
  });
  it('cut an ndjson glob into groups of files', async () => {
    for (let i = 0; i < 5; i++)
      await writeFile(
        join(dir, `n${i}.ndjson`),
        `${Array.from({ length: 10 * (i + 1) }, (_, k) => `{"f":${i},"k":${k}}`).join('\n')}\n`,
      );
    const config = { path: 'n*.ndjson', fileField: 'from' };
    const parts = await plan(dir, ndjsonSource, config, 3);
    expect(parts).toHaveLength(3);
    await expectPartsReadTheWhole(dir, ndjsonSource, config, parts, false);
  });

  it('json: a glob cut into groups of files, its types inferred once for them all; one file refused', async () => {
    await mkdir(join(dir, 'j'));
    // The first file decides: n is an integer, so the text in the last file is quarantined.
    for (let i = 0; i < 4; i++)
      await writeFile(
        join(dir, 'j', `d${i}.json`),
        JSON.stringify(Array.from({ length: 20 }, (_, k) => ({ i, n: i === 3 && k > 10 ? `t${k}` : k }))),
      );
    const config = { path: 'j/*.json', infer: true, inferRows: 10 };
    const parts = await plan(dir, jsonSource, config, 3);
    expect(parts).toHaveLength(3);
    for (const p of parts)
      expect((p as { inferred: { types: Json } }).inferred.types).toEqual({ i: 'integer', n: 'integer' });
    const { whole } = await expectPartsReadTheWhole(dir, jsonSource, config, parts, false);
    expect(whole.quarantined).toHaveLength(9);
    const check = (c: Record<string, unknown>) => jsonSource.partitions!.check!(validConfig(jsonSource, c));
    expect(check({ path: 'j/*.json' })).toBeUndefined();
    expect(check({ path: 'j/d0.json' })).toBe(
      'j/d0.json is one file, which this source cannot cut into parts; partitions read the files of a glob ' +
        '(path: data/*.json), a group of files each',
    );
    expect(check({ path: 'j/*.json', incremental: true })).toBe(
      "incremental: true keeps the files read in the step state, which partitions would each keep apart and miss each other's; read without incremental, or without partitions",
    );
    expect(parquetSource.partitions!.check!(validConfig(parquetSource, { path: 'x.parquet' }))).toMatch(
      /^x\.parquet is one file/,
    );
  });
});
