import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Json, planParts, resolvePlan } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validConfig } from '../../test/harness.ts';
import { S3RVER_KEYS, type S3Server, startS3 } from '../../test/s3-server.ts';
import { openLocation } from '../location/index.ts';
import { createRegistry } from '../registry.ts';
import { expectPartsReadTheWhole, expectResumesInside, plan, read } from '../shared/part-cases.ts';
import { csvSource } from './source.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-csv-parts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A header, CRLF line ends, quoted fields holding LF and CRLF, doubled quotes, and records the
 * quarantine takes: too few fields, text after a closing quote, a value that does not cast.
 */
function messyCsv(records: number): string {
  const lines = ['id,name,note,amount'];
  for (let i = 1; i <= records; i++) {
    if (i % 97 === 0) lines.push(`${i},short`);
    else if (i % 89 === 0) lines.push(`${i},"Cy"d,x,1`);
    else if (i % 83 === 0) lines.push(`${i},n${i},plain,not-a-number`);
    else if (i % 7 === 0) lines.push(`${i},"multi\nline ${i}","say ""hi""\r\nthere",${i}`);
    else if (i % 5 === 0) lines.push(`${i},"with, comma","",${i}`);
    else lines.push(`${i},name ${i},note ${'x'.repeat(i % 40)},${i}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

describe('csv partitions of one file', () => {
  it('cut into 1..7 byte ranges read, together, exactly what one read does, and resume inside a part', async () => {
    await writeFile(join(dir, 'messy.csv'), messyCsv(1500));
    const config = { path: 'messy.csv', batchSize: 37, chunkSize: 1000, schema: { amount: 'integer' } };
    for (let n = 1; n <= 7; n++) {
      const parts = await plan(dir, csvSource, config, n);
      expect(parts).toHaveLength(n);
      const first = parts[0] as { start: { offset: number; line: number; columns: string[] } };
      expect(first.start).toEqual({ offset: 21, line: 2, columns: ['id', 'name', 'note', 'amount'] });
      const { whole, reads } = await expectPartsReadTheWhole(dir, csvSource, config, parts);
      expect(whole.quarantined.length).toBeGreaterThan(40);
      if (n === 5)
        for (let i = 0; i < n; i++) await expectResumesInside(dir, csvSource, config, parts[i]!, reads[i]!);
    }
  });

  it('cut random CSV (quoted line breaks, stray and doubled quotes, bad records) where one read ends records', async () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pieces = ['a', 'bc', ',', '"', '""', '\n', '\r\n', ' ', 'x"y', '"q"', '"q"z', '"a\nb"', '\r'];
    for (let round = 0; round < 12; round++) {
      const lines = ['h1,h2,h3'];
      for (let i = 0; i < 300; i++) {
        let rec = '';
        const parts = 1 + rand(8);
        for (let k = 0; k < parts; k++) rec += pieces[rand(pieces.length)];
        lines.push(rand(3) === 0 ? `${i},"${rec}",z` : `${i},${rec.replaceAll('\n', ' ')},z`);
      }
      const name = `random${round}.csv`;
      await writeFile(join(dir, name), `${lines.join(round % 2 ? '\r\n' : '\n')}\n`);
      const config = {
        path: name,
        lenientQuotes: round % 3 === 0,
        batchSize: 1 + rand(50),
        chunkSize: 64 + rand(3000),
      };
      const parts = await plan(dir, csvSource, config, 2 + rand(6));
      expect(parts.length).toBeGreaterThan(1);
      await expectPartsReadTheWhole(dir, csvSource, config, parts);
    }
  });

  it('cut without a header: the first part starts with the first record, columns counted from it', async () => {
    await writeFile(join(dir, 'bare.csv'), messyCsv(400).split('\r\n').slice(1).join('\n'));
    const config = { path: 'bare.csv', header: false, batchSize: 10 };
    const parts = await plan(dir, csvSource, config, 4);
    expect(parts).toHaveLength(4);
    expect((parts[0] as { start: Json }).start).toEqual({
      offset: 0,
      line: 1,
      columns: ['col1', 'col2', 'col3', 'col4'],
    });
    await expectPartsReadTheWhole(dir, csvSource, config, parts);
  });

  it('infers types once, for the whole file: a later part casts as one read does', async () => {
    const lines = ['id,code'];
    for (let i = 1; i <= 300; i++) lines.push(`${i},${i < 200 ? i : `c${i}`}`);
    await writeFile(join(dir, 'infer.csv'), `${lines.join('\n')}\n`);
    const config = { path: 'infer.csv', infer: true, inferRows: 50, batchSize: 20 };
    const parts = await plan(dir, csvSource, config, 3);
    expect((parts[2] as { inferred: { types: Json } }).inferred.types).toEqual({
      id: 'integer',
      code: 'integer',
    });
    const { whole } = await expectPartsReadTheWhole(dir, csvSource, config, parts);
    expect(whole.quarantined).toHaveLength(101);
  });

  it('gives fewer parts for a small file, none for an empty or header-only one', async () => {
    await writeFile(join(dir, 'three.csv'), 'a,b\n1,2\n3,4\n5,6\n');
    await writeFile(join(dir, 'empty.csv'), '');
    await writeFile(join(dir, 'header.csv'), 'a,b\r\n');
    const parts = await plan(dir, csvSource, { path: 'three.csv' }, 7);
    expect(parts.length).toBeLessThanOrEqual(3);
    await expectPartsReadTheWhole(dir, csvSource, { path: 'three.csv' }, parts);
    expect(await plan(dir, csvSource, { path: 'empty.csv' }, 4)).toEqual([]);
    expect(await plan(dir, csvSource, { path: 'header.csv' }, 4)).toEqual([]);
  });

  it('reads a file whose records end in CR alone as one part, as one read does', async () => {
    await writeFile(join(dir, 'cr.csv'), 'a,b\r1,2\r3,"x\ry"\r5,6\r');
    const parts = await plan(dir, csvSource, { path: 'cr.csv' }, 3);
    expect(parts).toEqual([{ start: { offset: 0, line: 1 }, end: 20, size: 20 }]);
    await expectPartsReadTheWhole(dir, csvSource, { path: 'cr.csv' }, parts);
  });

  it('cuts through the registry with planParts, as the platform does', async () => {
    await writeFile(
      join(dir, 'plain.csv'),
      `id,v\n${Array.from({ length: 100 }, (_, i) => `${i},${i * 2}`).join('\n')}\n`,
    );
    const spec = {
      name: 'parts',
      steps: [
        {
          id: 'load',
          flow: [
            { source: 'csv', with: { path: 'plain.csv' } },
            { sink: 'ndjson', with: { path: 'o.ndjson' } },
          ],
        },
      ],
    };
    const registry = createRegistry();
    const resolved = resolvePlan(spec, { registry });
    const parts = await planParts(resolved, {
      registry,
      stepId: 'load',
      count: 4,
      baseDir: dir,
      signal: new AbortController().signal,
    });
    expect(parts).toHaveLength(4);
    await expectPartsReadTheWhole(dir, csvSource, { path: 'plain.csv' }, parts);
  });

  it('refuses a part of a file that changed since it was cut', async () => {
    await writeFile(join(dir, 'grows.csv'), 'a\n1\n2\n3\n4\n');
    const parts = await plan(dir, csvSource, { path: 'grows.csv' }, 2);
    await writeFile(join(dir, 'grows.csv'), 'a\n1\n2\n3\n4\n5\n');
    await expect(read(dir, csvSource, { path: 'grows.csv' }, parts[1]!)).rejects.toThrow(
      /is 12 bytes but was 10 when the step was cut into partitions/,
    );
  });

  it('check refuses what cannot be cut into byte ranges', () => {
    const check = (c: Record<string, unknown>) =>
      csvSource.partitions!.check!(validConfig(csvSource, { path: 'in.csv', ...c }));
    expect(check({})).toBeUndefined();
    expect(check({ path: 'in.csv.gz' })).toBe(
      'in.csv.gz is compressed, and compressed data cannot be read from the middle; partition a glob of ' +
        'compressed files (a group of files each), or store the file uncompressed',
    );
    expect(check({ incremental: true })).toMatch(/^incremental: true keeps the files read in the step state/);
    expect(check({ delimiter: '§' })).toBe(
      'delimiter "§" is not ASCII, which cutting the file into byte ranges needs',
    );
    expect(check({ quote: '«' })).toBe(
      'quote "«" is not ASCII, which cutting the file into byte ranges needs',
    );
    // Whole files of a glob need neither offsets nor a cutter.
    expect(check({ path: 'in/*.csv.gz', delimiter: '§' })).toBeUndefined();
  });
});

describe('csv partitions of an S3 object', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3();
    await s3.bucket('parts');
  });
  afterAll(async () => {
    await s3?.close();
  });

  it('cuts one object into ranges read with ranged GETs, and a glob of objects into groups', async () => {
    const s3opts = { endpoint: s3.endpoint, ...S3RVER_KEYS, region: 'us-east-1' };
    const location = await openLocation(
      's3://parts/',
      { s3: s3opts },
      { baseDir: dir, stepId: 'setup' },
      'setup',
    );
    try {
      await writeFile(join(dir, 's3.csv'), messyCsv(800));
      for (const key of ['one.csv', 'many/a.csv', 'many/b.csv', 'many/c.csv'])
        await location.put(`s3://parts/${key}`, join(dir, 's3.csv'), new AbortController().signal);
    } finally {
      await location.close();
    }
    const one = { path: 's3://parts/one.csv', s3: s3opts, batchSize: 50, schema: { amount: 'integer' } };
    const before = s3.requests.length;
    const parts = await plan(dir, csvSource, one, 4);
    expect(parts).toHaveLength(4);
    await expectPartsReadTheWhole(dir, csvSource, one, parts);
    const { end } = parts[1] as { end: number };
    expect(s3.requests.slice(before).some((r) => r.endsWith(`-${end - 1}`))).toBe(true);
    const many = { ...one, path: 's3://parts/many/*.csv', fileField: 'file' };
    const groups = await plan(dir, csvSource, many, 2);
    expect(groups).toHaveLength(2);
    await expectPartsReadTheWhole(dir, csvSource, many, groups, false);
  });
});
