import { describe, expect, it } from 'vitest';
import { MASK, redactor, secretValues } from '../src/worker/step-redact.ts';

describe("masking a step's secrets", () => {
  it('finds every value, nested or numeric, longest first, ignoring ones too short to mask', () => {
    expect(secretValues({ a: 'abcd', b: { c: ['abcdef', 123456] }, d: 'ab', e: null })).toEqual([
      'abcdef',
      '123456',
      'abcd',
    ]);
  });

  it('masks every string in plain data and copies only what changed', () => {
    const redact = redactor({ user: 'admin-x', password: 'admin-x-pw' });
    const untouched = { ok: ['nothing here'] };
    const value = { message: 'admin-x-pw for admin-x', list: ['x admin-x'], n: 3, untouched };
    const out = redact(value);
    expect(out).toEqual({ message: `${MASK} for ${MASK}`, list: [`x ${MASK}`], n: 3, untouched });
    expect(out.untouched).toBe(untouched);
    expect(value.message).toBe('admin-x-pw for admin-x');
    expect(redactor(undefined)(value)).toBe(value);
  });
});
