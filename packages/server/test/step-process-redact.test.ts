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

  it("shows the server's directories relative to the files root or by name, never a longer name they begin", () => {
    const redact = redactor(undefined, [
      { path: '/srv/files', as: '' },
      { path: '/srv/files/.sluice', as: '<data dir>' },
      { path: '/srv/files/.sluice/work/j1', as: '<job workspace>' },
    ]);
    expect(
      redact({
        error: 'file not found: /srv/files/bad/x.csv (relative paths resolve against /srv/files)',
        logs: [
          'quarantine in /srv/files/.sluice/work/j1/state/q.ndjson',
          'db in /srv/files/.sluice',
          '/srv/files2/x',
        ],
      }),
    ).toEqual({
      error: 'file not found: bad/x.csv (relative paths resolve against .)',
      logs: ['quarantine in <job workspace>/state/q.ndjson', 'db in <data dir>', '/srv/files2/x'],
    });
  });
});
