import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '@sluice/core';
import {
  castTransform,
  csvSource,
  dedupeTransform,
  filterTransform,
  lookupTransform,
  mapTransform,
  selectTransform,
  shellTask,
  validateTransform,
} from '../src/index.ts';
import { sourceConformance, taskConformance, transformConformance } from './conformance.ts';
import { unreachableS3 } from './conformance-checks.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'sluice-conf-'));
const people: Row[] = [
  { id: 1, name: 'Ana', note: 'a, "quoted" note' },
  { id: 2, name: 'Bruno', note: 'two\nlines' },
  { id: 3, name: 'Cé', note: '' },
  { id: 4, name: 'Dora', note: 'plain' },
  { id: 5, name: 'Eli', note: 'x' },
];

sourceConformance('csv', {
  def: csvSource,
  resumable: true,
  badConfig: { path: 'x.csv', delimiter: ';;' },
  badPath: 'with.delimiter',
  secret: unreachableS3('in.csv'),
  sample: people,
  async setup(rows) {
    const path = join(tmp(), 'in.csv');
    const q = (v: unknown) => `"${String(v).replaceAll('"', '""')}"`;
    writeFileSync(path, `id,name,note\n${rows.map((r) => `${r.id},${q(r.name)},${q(r.note)}\n`).join('')}`);
    return { path, schema: { id: 'integer' } };
  },
});

const input: Row[] = [
  { id: 1, amount: 10.5, country: 'br', active: true },
  { id: 2, amount: 3, country: 'pt', active: false },
  { id: 2, amount: 3, country: 'pt', active: false },
];
transformConformance('filter', {
  def: filterTransform,
  config: { where: 'active' },
  badConfig: { where: 1 },
  badPath: 'with.where',
  input,
});
transformConformance('map', {
  def: mapTransform,
  config: {
    set: { total: 'amount * 2', country: 'country.upperAscii()' },
    rename: { id: 'key' },
    drop: ['active'],
  },
  badConfig: { set: 'x' },
  badPath: 'with.set',
  input,
});
transformConformance('select', {
  def: selectTransform,
  config: { fields: ['id'] },
  badConfig: { fields: 'id' },
  badPath: 'with.fields',
  input,
});
transformConformance('cast', {
  def: castTransform,
  config: { fields: { amount: 'string', id: 'string' } },
  badConfig: { fields: { id: 'float128' } },
  badPath: 'with.fields.id',
  input,
});
transformConformance('validate', {
  def: validateTransform,
  config: { schema: { type: 'object', required: ['id'] } },
  badConfig: { schema: 'object' },
  badPath: 'with.schema',
  input,
});
const countries = join(tmp(), 'countries.csv');
writeFileSync(countries, 'code,name\nbr,Brazil\npt,Portugal\n');
transformConformance('lookup', {
  def: lookupTransform,
  config: { from: 'file', path: countries, key: { country: 'code' }, fields: { name: 'country_name' } },
  badConfig: { from: 'file', path: countries, key: { country: 'code' }, cache: { maxBytes: 'lots' } },
  badPath: 'with.cache.maxBytes',
  input,
});
transformConformance('dedupe', {
  def: dedupeTransform,
  config: { key: ['id'] },
  badConfig: { key: [] },
  badPath: 'with.key',
  input,
});

// A shell task has no secret field of its own; what a user hands it in `env` must still stay out
// of its failure and its log (the command's own output is the user's to keep clean).
taskConformance('shell', {
  def: shellTask,
  badConfig: { command: [] },
  badPath: 'with.command',
  endless: { command: ['sleep', '30'] },
  secret: {
    secret: 'conformance-shell-T0ken',
    config: () => ({ command: ['sh', '-c', 'exit 3'], env: { API_TOKEN: 'conformance-shell-T0ken' } }),
  },
});
