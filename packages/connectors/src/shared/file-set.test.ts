import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Json, Row } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSource } from '../../test/harness.ts';
import { csvSource } from '../csv/source.ts';
import { ndjsonSource } from '../ndjson/source.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-files-'));
  await mkdir(join(dir, 'in/2026-01'), { recursive: true });
  await mkdir(join(dir, 'in/2026-02'), { recursive: true });
  await mkdir(join(dir, 'in/2025-12'), { recursive: true });
  await writeFile(join(dir, 'in/2026-01/a.csv'), 'id,name\n1,Ana\n2,Bruno\n');
  await writeFile(join(dir, 'in/2026-02/b.csv'), 'id,name\n3,Cé\n4,Dora\n5,Eli\n');
  await writeFile(join(dir, 'in/2026-02/notes.txt'), 'not csv');
  await writeFile(join(dir, 'in/2025-12/old.csv'), 'id,name\n0,Zed\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ids = (rows: Row[]) => rows.map((r) => r.id);

describe('file sources over many files', () => {
  it('reads every file a glob matches, in name order, with the file in fileField', async () => {
    const r = await readSource(csvSource, { path: 'in/2026-*/*.csv', fileField: 'file' }, { baseDir: dir });
    expect(ids(r.rows)).toEqual(['1', '2', '3', '4', '5']);
    expect(r.rows[0]!.file).toBe(join(dir, 'in/2026-01/a.csv'));
    expect(r.rows[4]!.file).toBe(join(dir, 'in/2026-02/b.csv'));
  });

  it('says which glob matched nothing, and where it looked', async () => {
    await expect(readSource(csvSource, { path: 'in/2027-*/*.csv' }, { baseDir: dir })).rejects.toThrow(
      /no file matches in\/2027-\*\/\*\.csv \(listed .*\/in\/\)/,
    );
  });

  it('resumes in the file it stopped in, with exactly the rows left', async () => {
    const config = { path: 'in/2026-*/*.csv', batchSize: 1 };
    const first = await readSource(csvSource, config, { baseDir: dir, maxBatches: 3 });
    expect(ids(first.rows)).toEqual(['1', '2', '3']);
    const rest = await readSource(csvSource, config, { baseDir: dir, resumeFrom: first.positions.at(-1)! });
    expect(ids([...first.rows, ...rest.rows])).toEqual(['1', '2', '3', '4', '5']);
  });

  it('reads only new or changed files when incremental, remembering them only at the end', async () => {
    const d = await mkdtemp(join(dir, 'inc-'));
    await writeFile(join(d, 'a.ndjson'), '{"id":1}\n');
    const state = new Map<string, Json>();
    const config = { path: '*.ndjson', incremental: true };
    expect(ids((await readSource(ndjsonSource, config, { baseDir: d, state })).rows)).toEqual([1]);
    expect(ids((await readSource(ndjsonSource, config, { baseDir: d, state })).rows)).toEqual([]);
    await writeFile(join(d, 'b.ndjson'), '{"id":2}\n');
    // A changed file (new size and time) is read again, whole: files are the unit, not lines.
    await writeFile(join(d, 'a.ndjson'), '{"id":1}\n{"id":3}\n');
    await utimes(join(d, 'a.ndjson'), new Date(), new Date(Date.now() + 5000));
    const third = await readSource(ndjsonSource, config, { baseDir: d, state });
    expect(ids(third.rows)).toEqual([1, 3, 2]);
    expect(ids((await readSource(ndjsonSource, config, { baseDir: d, state })).rows)).toEqual([]);
  });

  it('takes file:// paths as local ones', async () => {
    const r = await readSource(csvSource, { path: `file://${join(dir, 'in/2025-12/old.csv')}` });
    expect(ids(r.rows)).toEqual(['0']);
  });

  it('refuses a scheme it does not know, naming the ones it does', async () => {
    await expect(readSource(csvSource, { path: 'ftp://host/x.csv' })).rejects.toThrow(
      /"ftp:\/\/" is not a location Sluice reads; use a local path, s3:\/\/bucket\/key/,
    );
  });
});
