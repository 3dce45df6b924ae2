import { type Row, SOURCE_LINE } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { createTransform } from '../../test/harness.ts';
import { flattenTransform } from './flatten.ts';

const order = () => ({
  id: 1,
  customer: { name: 'Ada', address: { city: 'Paris', zip: '75001' } },
  tags: ['a', 'b'],
  note: null,
  [SOURCE_LINE]: 3,
});

describe('flatten', () => {
  it('flattens every nested object with dots, in place of the parent field', async () => {
    const { run } = await createTransform(flattenTransform, {});
    const [row] = await run([order()]);
    expect(Object.keys(row!)).toEqual([
      'id',
      'customer.name',
      'customer.address.city',
      'customer.address.zip',
      'tags',
      'note',
    ]);
    expect(row!['customer.address.city']).toBe('Paris');
    expect(row!.tags).toEqual(['a', 'b']);
    expect(row![SOURCE_LINE]).toBe(3);
  });

  it('takes another separator, a depth and a list of fields', async () => {
    const { run } = await createTransform(flattenTransform, { separator: '_', depth: 1 });
    expect(await run([{ a: { b: { c: 1 } } }])).toEqual([{ a_b: { c: 1 } }]);
    const only = await createTransform(flattenTransform, { fields: ['x'] });
    expect(await only.run([{ x: { y: 1 }, z: { w: 2 } }])).toEqual([{ 'x.y': 1, z: { w: 2 } }]);
  });

  it('passes rows without objects as they are, keeps empty objects and dates as values', async () => {
    const { run } = await createTransform(flattenTransform, {});
    const flat: Row = { a: 1, b: 'x' };
    const when = new Date(0);
    const out = await run([flat, { e: {}, d: when, n: { when } }]);
    expect(out[0]).toBe(flat);
    expect(out[1]).toEqual({ e: {}, d: when, 'n.when': when });
  });

  it('quarantines a row whose flattened names collide', async () => {
    const { run, harness } = await createTransform(flattenTransform, {});
    const out = await run([{ a: { b: 1 }, 'a.b': 2, [SOURCE_LINE]: 9 }, { a: { b: 3 } }]);
    expect(out).toEqual([{ 'a.b': 3 }]);
    expect(harness.quarantined[0]).toMatchObject({ line: 9 });
    expect(harness.quarantined[0]!.reason).toMatch(/two fields named "a\.b"/);
  });
});
