import { ConfigError, type Row, SOURCE_LINE } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { createTransform } from '../../test/harness.ts';
import { renameTransform } from './rename.ts';

describe('rename', () => {
  it('renames in place, keeps every other field and the source line, passes untouched rows as they are', async () => {
    const { run, harness } = await createTransform(renameTransform, { fields: { cust_id: 'customer_id' } });
    const plain: Row = { id: 2, name: 'b' };
    const out = await run([{ id: 1, cust_id: 7, name: 'a', [SOURCE_LINE]: 2 }, plain]);
    expect(Object.keys(out[0]!)).toEqual(['id', 'customer_id', 'name']);
    expect(out[0]).toEqual({ id: 1, customer_id: 7, name: 'a', [SOURCE_LINE]: 2 });
    expect(out[1]).toBe(plain);
    expect(harness.quarantined).toEqual([]);
  });

  it('swaps names', async () => {
    const { run } = await createTransform(renameTransform, { fields: { a: 'b', b: 'a' } });
    expect(await run([{ a: 1, b: 2, c: 3 }])).toEqual([{ b: 1, a: 2, c: 3 }]);
  });

  it('quarantines a row whose rename would overwrite one of its fields', async () => {
    const { run, harness } = await createTransform(renameTransform, { fields: { ts: 'created_at' } });
    const out = await run([
      { ts: 1, created_at: 2, [SOURCE_LINE]: 5 },
      { ts: 3, [SOURCE_LINE]: 6 },
    ]);
    expect(out).toEqual([{ created_at: 3, [SOURCE_LINE]: 6 }]);
    expect(harness.quarantined).toHaveLength(1);
    expect(harness.quarantined[0]).toMatchObject({ line: 5, row: { ts: 1, created_at: 2 } });
    expect(harness.quarantined[0]!.reason).toMatch(/would overwrite the row's field "created_at"/);
  });

  it('refuses two fields renamed to one name, at the path', async () => {
    const err = await createTransform(renameTransform, { fields: { a: 'x', b: 'x' } }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      { path: 'with.fields.b', message: '"b" and "a" are both renamed to "x"; give them different names' },
    ]);
  });

  it('refuses an empty mapping at validate time', async () => {
    await expect(createTransform(renameTransform, { fields: {} })).rejects.toThrow(/with\.fields/);
  });
});
