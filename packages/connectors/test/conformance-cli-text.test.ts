import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Row } from '@sluice/core';
import { csvSource } from '../src/index.ts';
import { cliSinkConformance, cliSourceConformance } from './conformance-cli.ts';
import { readSource } from './harness.ts';

// The text formats (CSV, NDJSON, JSON) through the CLI, on local files; the remote locations
// have their own file (conformance-cli-remote.test.ts).

const csvOf = (rows: Row[]) =>
  `id,name\n${rows.map((r) => `${r.id},"${String(r.name).replaceAll('"', '""')}"\n`).join('')}`;

cliSourceConformance('csv', 'csv', {
  async input(rows, dir) {
    writeFileSync(join(dir, 'in.csv'), csvOf(rows));
    return { path: 'in.csv', batchSize: 50, schema: { id: 'integer' } };
  },
  secret: { coveredBy: 'csv on S3, ndjson on SFTP, csv over HTTP' },
});

cliSourceConformance('ndjson', 'ndjson', {
  async input(rows, dir) {
    writeFileSync(join(dir, 'in.ndjson'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return { path: 'in.ndjson', batchSize: 50 };
  },
  secret: { coveredBy: 'csv on S3, ndjson on SFTP, csv over HTTP' },
});

cliSourceConformance('json', 'json', {
  async input(rows, dir) {
    writeFileSync(join(dir, 'in.json'), JSON.stringify(rows));
    return { path: 'in.json', batchSize: 50 };
  },
  secret: { coveredBy: 'csv on S3, ndjson on SFTP, csv over HTTP' },
});

const readJsonish = (path: string): Row[] => {
  const text = readFileSync(path, 'utf8');
  return path.endsWith('.json')
    ? (JSON.parse(text) as Row[])
    : text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Row);
};

cliSinkConformance('csv', 'csv', {
  output: async () => ({ path: 'out.csv' }),
  readBack: async (c, dir) => (await readSource(csvSource, { path: join(dir, c.path as string) })).rows,
  verify: 'content',
  resumable: true,
  secret: { coveredBy: 'ndjson on S3, csv on SFTP' },
});

cliSinkConformance('ndjson', 'ndjson', {
  output: async () => ({ path: 'out.ndjson' }),
  readBack: async (c, dir) => readJsonish(join(dir, c.path as string)),
  verify: 'content',
  resumable: true,
  secret: { coveredBy: 'ndjson on S3, csv on SFTP' },
});

cliSinkConformance('json', 'json', {
  output: async () => ({ path: 'out.json' }),
  readBack: async (c, dir) => readJsonish(join(dir, c.path as string)),
  verify: 'content',
  resumable: true,
  secret: { coveredBy: 'ndjson on S3, csv on SFTP' },
});
