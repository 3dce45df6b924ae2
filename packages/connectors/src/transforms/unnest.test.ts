import { ConfigError, SOURCE_LINE } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { createTransform } from '../../test/harness.ts';
import { unnestTransform } from './unnest.ts';

const order = () => ({
  order: 7,
  items: [
    { sku: 'A', qty: 1 },
    { sku: 'B', qty: 2 },
  ],
  paid: true,
  [SOURCE_LINE]: 4,
});

describe('unnest', () => {
  it('makes one row per element, object fields merged, the parent fields kept', async () => {
    const { run } = await createTransform(unnestTransform, { field: 'items' });
    const out = await run([order()]);
    expect(out).toEqual([
      { order: 7, paid: true, sku: 'A', qty: 1, [SOURCE_LINE]: 4 },
      { order: 7, paid: true, sku: 'B', qty: 2, [SOURCE_LINE]: 4 },
    ]);
  });

  it('prefixes element fields and numbers elements', async () => {
    const { run } = await createTransform(unnestTransform, {
      field: 'items',
      prefix: 'item_',
      index: 'n',
    });
    expect(await run([order()])).toEqual([
      { order: 7, paid: true, item_sku: 'A', item_qty: 1, n: 0, [SOURCE_LINE]: 4 },
      { order: 7, paid: true, item_sku: 'B', item_qty: 2, n: 1, [SOURCE_LINE]: 4 },
    ]);
  });

  it('puts scalar elements under the field name', async () => {
    const { run } = await createTransform(unnestTransform, { field: 'tags' });
    expect(await run([{ id: 1, tags: ['x', 'y'] }])).toEqual([
      { id: 1, tags: 'x' },
      { id: 1, tags: 'y' },
    ]);
  });

  it('drops empty arrays by default, keeps them once with keepEmpty', async () => {
    const rows = () => [{ id: 1, items: [] }, { id: 2, items: null }, { id: 3 }];
    const drop = await createTransform(unnestTransform, { field: 'items' });
    expect(await drop.run(rows())).toEqual([]);
    const keep = await createTransform(unnestTransform, { field: 'items', keepEmpty: true, index: 'n' });
    expect(await keep.run(rows())).toEqual([
      { id: 1, items: null, n: null },
      { id: 2, items: null, n: null },
      { id: 3, items: null, n: null },
    ]);
  });

  it('quarantines a value that is not an array and an element field that collides', async () => {
    const { run, harness } = await createTransform(unnestTransform, { field: 'items' });
    const out = await run([
      { id: 1, items: 'oops', [SOURCE_LINE]: 2 },
      { id: 2, items: [{ sku: 'A' }, { id: 9 }], [SOURCE_LINE]: 3 },
      { id: 3, items: [{ sku: 'C' }] },
    ]);
    expect(out).toEqual([{ id: 3, sku: 'C' }]);
    expect(harness.quarantined.map((q) => q.line)).toEqual([2, 3]);
    expect(harness.quarantined[0]!.reason).toBe('field "items" holds a string, not an array');
    expect(harness.quarantined[1]!.reason).toMatch(
      /element 1 of "items" has a field "id" that the row already holds/,
    );
  });

  it('refuses an index field named like the array field, at its path', async () => {
    const err = await createTransform(unnestTransform, { field: 'items', index: 'items' }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]!.path).toBe('with.index');
  });
});

describe('unnest: the index field', () => {
  it('quarantines an element whose field the index would replace', async () => {
    const { run, harness } = await createTransform(unnestTransform, { field: 'items', index: 'n' });
    expect(await run([{ id: 1, items: [{ sku: 'A', n: 42 }] }])).toEqual([]);
    expect(harness.quarantined.map((q) => q.reason)).toEqual([
      expect.stringMatching(/index field "n" would replace/),
    ]);
  });
});
