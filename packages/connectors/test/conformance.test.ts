import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '@sluice/core';
import {
  castTransform,
  csvSource,
  dedupeTransform,
  filterTransform,
  mapTransform,
  selectTransform,
  validateTransform,
} from '../src/index.ts';
import { sourceConformance, transformConformance } from './conformance.ts';

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
  input,
});
transformConformance('select', {
  def: selectTransform,
  config: { fields: ['id'] },
  badConfig: { fields: 'id' },
  input,
});
transformConformance('cast', {
  def: castTransform,
  config: { fields: { amount: 'string', id: 'string' } },
  badConfig: { fields: { id: 'float128' } },
  input,
});
transformConformance('validate', {
  def: validateTransform,
  config: { schema: { type: 'object', required: ['id'] } },
  badConfig: { schema: 'object' },
  input,
});
transformConformance('dedupe', {
  def: dedupeTransform,
  config: { key: ['id'] },
  badConfig: { key: [] },
  input,
});
