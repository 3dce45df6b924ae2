import { Registry, type Row } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { createTransform } from '../../test/harness.ts';
import { aggregateTransform } from './aggregate.ts';

const run = async (config: unknown, ...batches: Row[][]) => {
  const t = await createTransform(aggregateTransform, config);
  for (const b of batches) expect(await t.run(b)).toEqual([]);
  return { rows: await t.finish(), quarantined: t.harness.quarantined };
};

const orders: Row[] = [
  { country: 'PT', amount: '10.5', customer: 'a', day: '2026-01-02' },
  { country: 'FR', amount: 3, customer: 'b', day: '2026-01-01' },
  { country: 'PT', amount: 2, customer: 'a', day: '2026-01-01' },
  { country: 'PT', amount: null, customer: 'c', day: '2026-01-03' },
];

describe('aggregate', () => {
  it('computes every function per group, in the order groups first appeared', async () => {
    const { rows } = await run(
      {
        groupBy: ['country'],
        fields: {
          n: { op: 'count' },
          amounts: { op: 'count', field: 'amount' },
          total: { op: 'sum', field: 'amount' },
          mean: { op: 'avg', field: 'amount' },
          first_day: { op: 'min', field: 'day' },
          last_day: { op: 'max', field: 'day' },
          firstAmount: { op: 'first', field: 'amount' },
          lastAmount: { op: 'last', field: 'amount' },
          customers: { op: 'count_distinct', field: 'customer' },
        },
      },
      orders.slice(0, 2),
      orders.slice(2),
    );
    expect(rows).toEqual([
      {
        country: 'PT',
        n: 3,
        amounts: 2,
        total: 12.5,
        mean: 6.25,
        first_day: '2026-01-01',
        last_day: '2026-01-03',
        firstAmount: '10.5',
        lastAmount: null,
        customers: 2,
      },
      {
        country: 'FR',
        n: 1,
        amounts: 1,
        total: 3,
        mean: 3,
        first_day: '2026-01-01',
        last_day: '2026-01-01',
        firstAmount: 3,
        lastAmount: 3,
        customers: 1,
      },
    ]);
  });

  it('adds integers exactly, past what a double holds', async () => {
    const big = 2n ** 60n;
    const { rows } = await run({ fields: { s: { op: 'sum', field: 'v' } } }, [
      { v: big },
      { v: 1 },
      { v: '1152921504606846977' },
    ]);
    expect(rows).toEqual([{ s: big * 2n + 2n }]);
  });

  it('quarantines a row whose value sum cannot take, and leaves it out of every aggregate', async () => {
    const { rows, quarantined } = await run(
      { groupBy: ['k'], fields: { n: { op: 'count' }, s: { op: 'sum', field: 'v' } } },
      [
        { k: 1, v: 2 },
        { k: 1, v: 'two' },
        { k: 1, v: 3 },
      ],
    );
    expect(rows).toEqual([{ k: 1, n: 2, s: 5 }]);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]!.reason).toBe('cannot aggregate: v: "two" is not a number');
  });

  it('groups 1 and "1" apart, and nulls with missing fields', async () => {
    const { rows } = await run({ groupBy: ['k'], fields: { n: { op: 'count' } } }, [
      { k: 1 },
      { k: '1' },
      { k: null },
      {},
    ]);
    expect(rows).toEqual([
      { k: 1, n: 1 },
      { k: '1', n: 1 },
      { k: null, n: 2 },
    ]);
  });

  it('gives one row over no input without groupBy, and none with it', async () => {
    expect((await run({ fields: { n: { op: 'count' }, s: { op: 'sum', field: 'v' } } })).rows).toEqual([
      { n: 0, s: null },
    ]);
    expect((await run({ groupBy: ['k'], fields: { n: { op: 'count' } } })).rows).toEqual([]);
  });

  it('refuses more groups than maxGroups, naming the sql transform', async () => {
    const t = await createTransform(aggregateTransform, {
      groupBy: ['k'],
      fields: { n: { op: 'count' } },
      maxGroups: 2,
    });
    await expect(t.run([{ k: 1 }, { k: 2 }, { k: 3 }])).rejects.toThrow(
      /more than maxGroups \(2\).*`sql` transform/,
    );
  });

  it('refuses more distinct values than maxDistinct', async () => {
    const t = await createTransform(aggregateTransform, {
      fields: { d: { op: 'count_distinct', field: 'v' } },
      maxDistinct: 2,
    });
    await expect(t.run([{ v: 1 }, { v: 2 }, { v: 3 }])).rejects.toThrow(/maxDistinct \(2\)/);
  });

  it('checks its config at paths', () => {
    const registry = new Registry().register(aggregateTransform);
    expect(registry.check(aggregateTransform, { fields: { s: { op: 'sum' } } }, 'with')).toEqual([
      { path: 'with.fields.s.field', message: 'sum needs the input field it is computed over' },
    ]);
    expect(
      registry.check(aggregateTransform, { groupBy: ['k'], fields: { k: { op: 'count' } } }, 'with')[0]?.path,
    ).toBe('with.fields.k');
    expect(
      registry.check(aggregateTransform, { fields: { s: { op: 'median', field: 'v' } } }, 'with')[0]?.path,
    ).toBe('with.fields.s.op');
  });
});
