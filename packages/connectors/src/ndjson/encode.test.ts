import { describe, expect, it } from 'vitest';
import { JsonRowEncoder } from './encode.ts';

const encode = (rows: Record<string, unknown>[]): string => {
  const e = new JsonRowEncoder();
  for (const row of rows) {
    e.row(row, (r) => JSON.stringify(r));
    e.byte(0x0a);
  }
  return e.take().toString('utf8');
};
const expected = (rows: Record<string, unknown>[]): string =>
  rows.map((r) => `${JSON.stringify(r)}\n`).join('');

describe('JsonRowEncoder', () => {
  it('writes what JSON.stringify writes, escapes and all', () => {
    const rows = [
      { a: '\u0000\u001f\b\t\n\f\r"\\/\u007f\u0080é\u07ff\u0800\uffff\ud83d\ude9a', b: '日本 🚚' },
      { lone: '\ud800x', low: 'x\udc00', end: '\ud800', pair: '\udbff\udfff' },
      { 2: 1, b: Number.NaN, 1: -0, c: Number.POSITIVE_INFINITY, u: undefined, f: () => 1, n: null, t: true },
      {},
      { u: undefined },
      { [Symbol('s')]: 1, k: 'v', 'odd "key"\n': false },
    ];
    expect(encode(rows)).toBe(expected(rows));
  });

  it('hands rows it does not handle to the fallback', () => {
    const rows = [{ d: new Date(0), x: 1 }, { o: { a: [1, 'é'] } }, { toJSON: () => 'hi' }, { s: 'after' }];
    expect(encode(rows)).toBe(expected(rows));
  });

  it('writes numbers as String() does', () => {
    const values = [
      0,
      -0,
      1,
      -1,
      9,
      10,
      100,
      0.01,
      -0.01,
      0.05,
      0.1,
      1.5,
      230.88,
      12616.56,
      1e15 - 1,
      1e15,
      1e21,
      1e-7,
      1.5e-7,
      9999999999999.99,
      0.30000000000000004,
      2 ** 53,
      5e-324,
      1.7976931348623157e308,
      -0.0000012345678901234567,
    ];
    let seed = 7;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let i = 0; i < 20000; i++) {
      const r = random();
      values.push(
        Math.round(r * 1e6) / 100,
        -Math.round(r * 1e4) / 100,
        (Math.round(r * 1e4) / 100) * 7,
        r * 1e3,
      );
      values.push(Math.floor(r * 1e12), Math.round(r * 1e15) / 100, Math.round(r * 1e12) / 10);
    }
    const rows = values.map((v) => ({ v }));
    expect(encode(rows)).toBe(expected(rows));
  });

  it('keeps bytes already taken when a long row needs a new slab', () => {
    const e = new JsonRowEncoder();
    e.row({ a: 'first' }, JSON.stringify);
    const first = e.take();
    const long = 'x'.repeat(3 << 20);
    e.row({ a: long }, JSON.stringify);
    expect(first.toString()).toBe('{"a":"first"}');
    expect(e.take().toString()).toBe(JSON.stringify({ a: long }));
  });
});

describe('JsonRowEncoder and prototypes', () => {
  it('writes what JSON.stringify does for a row with inherited keys: its own keys only', () => {
    const e = new JsonRowEncoder();
    const row = Object.create({ inherited: 1 }) as Record<string, unknown>;
    row.own = 2;
    e.row(row, (x) => JSON.stringify(x));
    expect(e.take().toString()).toBe(JSON.stringify(row));
  });
});
