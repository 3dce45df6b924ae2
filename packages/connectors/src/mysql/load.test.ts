import { describe, expect, it } from 'vitest';
import { LoadEncoder } from './load.ts';

const enc = () =>
  new LoadEncoder(
    ['s', 'n', 'b', 't', 'bin', 'j'],
    ['plain', 'plain', 'plain', 'datetime', 'binary', 'plain'],
  );

describe('LoadEncoder', () => {
  it('writes LOAD DATA lines: escapes, \\N, 1 and 0, numbers as String() does, UTC wall time', () => {
    const batch = enc().encode([
      {
        s: 'a\tb\nc\\d\re\0f 🚚',
        n: 12.5,
        b: true,
        t: '2024-01-02T03:04:05.123456Z',
        bin: 'AAE=',
        j: { x: [1] },
      },
      { s: null, n: -0.000001234, b: false, t: undefined, bin: null, j: 'x\uD800y' },
      { s: 'é', n: 2 ** 60, b: 1n, t: new Date('2024-05-06T07:08:09.5Z'), bin: new Uint8Array([0, 255]) },
    ]);
    expect(batch.rejected).toEqual([]);
    expect(batch.rows).toBe(3);
    expect(batch.data.toString('utf8')).toBe(
      'a\\tb\\nc\\\\d\\re\\0f 🚚\t12.5\t1\t2024-01-02 03:04:05.123456\tAAE=\t{"x":[1]}\n' +
        '\\N\t-0.000001234\t0\t\\N\t\\N\tx\uFFFDy\n' +
        `é\t${2 ** 60}\t1\t2024-05-06 07:08:09.500\tAP8=\t\\N\n`,
    );
  });

  it('leaves out rows with a value MySQL cannot take, naming the field', () => {
    const e = enc();
    const batch = e.encode([
      { s: 'ok', n: 1 },
      { s: 'nan', n: Number.NaN },
      { s: 'bin', bin: 'not base64!' },
      { s: 'fn', j: () => 1 },
      { s: 'last', n: 2 },
    ]);
    expect(batch.data.toString('utf8')).toBe('ok\t1\t\\N\t\\N\t\\N\t\\N\nlast\t2\t\\N\t\\N\t\\N\t\\N\n');
    expect(batch.rows).toBe(2);
    expect(batch.rejected).toEqual([
      { index: 1, reason: 'field "n" is NaN, which MySQL cannot store' },
      { index: 2, reason: 'field "bin" is not base64, which a binary column takes text as' },
      { index: 3, reason: 'field "j" is a function, which has no MySQL representation' },
    ]);
  });
});
