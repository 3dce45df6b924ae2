import { parse } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { hasLossyNumber, type NumberLoss, numberLoss } from './json-numbers.ts';

describe('numberLoss', () => {
  it.each<[string, NumberLoss | undefined]>([
    ['0', undefined],
    ['-0', undefined],
    ['0.1', undefined],
    ['0.30000000000000004', undefined],
    ['1.50', undefined],
    ['6.022e23', undefined],
    ['-1.5E+300', undefined],
    ['1.7976931348623157e308', undefined],
    ['2.2250738585072014e-308', undefined],
    ['5e-324', undefined],
    ['0e-400', undefined],
    ['9007199254740991', undefined],
    ['-9007199254740991', undefined],
    // Integers a double holds exactly, and what JSON.stringify writes for large doubles.
    ['9007199254740992', undefined],
    ['-9007199254740992', undefined],
    ['18014398509481984', undefined],
    ['100000000000000000000', undefined],
    ['12345678901234567000', undefined],
    // printf's %.17g and PostgreSQL before 12: a correct print of 0.1, with more digits.
    ['0.10000000000000001', undefined],
    // 0.1's exact value: as many digits as it takes, still the same double.
    ['0.1000000000000000055511151231257827021181583404541015625', undefined],
    // Both sides of a tie are correct prints of the double 0.120456695556640625.
    ['0.12045669555664062', undefined],
    ['0.12045669555664063', undefined],
    ['12345678901234567891', 'integer'],
    [`1${'0'.repeat(400)}`, 'overflow'],
    ['-9007199254740993', 'integer'],
    ['123456789012345678901234567890', 'integer'],
    ['1e400', 'overflow'],
    ['-1.7976931348623159e308', 'overflow'],
    ['1e-400', 'underflow'],
    ['-0.1e-999', 'underflow'],
    ['3.14159265358979323846', 'precision'],
    ['12345678901234.567', 'precision'],
    ['9007199254740993.0', 'precision'],
    ['1.00000000000000000000001', 'precision'],
    ['1.2345678901234567e-320', 'precision'],
  ])('%s → %s', (literal, loss) => {
    expect(numberLoss(literal)).toBe(loss);
  });

  it('never flags what a float printer writes for a double', () => {
    const double = new Float64Array(1);
    const bits = new Uint32Array(double.buffer);
    let state = 7;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    for (let i = 0; i < 20_000; i++) {
      const x = (random() - 0.5) * 10 ** Math.floor(random() * 50 - 25);
      const dyadic = Math.floor(random() * 2 ** 31) / 2 ** 31;
      // Any double at all, subnormals and the largest included, from its bits.
      bits[0] = Math.floor(random() * 2 ** 32);
      bits[1] = Math.floor(random() * 2 ** 32);
      const any = Number.isFinite(double[0]!) ? double[0]! : 1;
      for (const s of [
        String(x),
        x.toPrecision(17),
        x.toPrecision(20),
        x.toExponential(),
        String(dyadic),
        String(any),
      ]) {
        expect.soft(numberLoss(s), s).toBeUndefined();
      }
    }
  });
});

describe('hasLossyNumber', () => {
  const has = (text: string) => {
    const b = Buffer.from(`  ${text}\n`);
    return hasLossyNumber(text, b, 2, b.length - 1);
  };

  it('finds a lossy literal wherever a value may stand', () => {
    for (const text of [
      '{"a":1e400}',
      '{"a": -1E-400 }',
      '{"a":[1,\n12345678901234567890]}',
      '{"a":{"b":[0.5,3.14159265358979323846]}}',
      '{"é":"ü","n":9007199254740993}',
    ]) {
      expect(has(text), text).toBe(true);
    }
  });

  it('passes exact numbers and digits inside strings', () => {
    for (const text of [
      '{"a":0.7683756351470947,"b":6.022e23,"c":-1.5e+300,"d":1e5}',
      '{"u":"550e8400-e29b-41d4-a716-446655440000","h":"3e12345","id":"123456789012345678901234"}',
      '{"a":1234567890123456,"b":"1e400"}',
    ]) {
      expect(has(text), text).toBe(false);
    }
  });

  it('agrees with a full parse on random rows', () => {
    let state = 11;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
    const number = () =>
      pick([
        () => String(random() * 1000),
        () => (random() * 1e6).toPrecision(17),
        () => `${digits(1 + Math.floor(random() * 20))}`.replace(/^0+(?=\d)/, ''),
        () => `-0.${digits(Math.floor(random() * 22))}1`,
        () =>
          `${1 + Math.floor(random() * 9)}e${pick(['', '+', '-'])}${digits(1 + Math.floor(random() * 3))}`,
      ])();
    const string = () =>
      JSON.stringify(pick([digits(20), `x, ${number()}`, `${digits(3)}e${digits(4)}`, 'é']));
    const value = (depth: number): string =>
      depth > 2 || random() < 0.5
        ? random() < 0.7
          ? number()
          : string()
        : random() < 0.5
          ? `[${Array.from({ length: 3 }, () => value(depth + 1)).join(', ')}]`
          : `{${Array.from({ length: 3 }, (_, i) => `"k${i}":${value(depth + 1)}`).join(',')}}`;
    let lossy = 0;
    for (let n = 0; n < 3000; n++) {
      const text = `{"a":${value(0)},"b":${value(0)}}`;
      let expected = false;
      parse(text, null, (literal) => {
        if (numberLoss(literal) !== undefined) expected = true;
        return 0;
      });
      if (expected) lossy++;
      const b = Buffer.from(text);
      // Number-like text after ", " in a string may be taken for a number (the reader then
      // parses the row in full and finds nothing): only that may be flagged in vain.
      if (expected || !text.includes('"x, ')) {
        expect.soft(hasLossyNumber(text, b, 0, b.length), text).toBe(expected);
      }
    }
    // Both kinds of row were drawn.
    expect(lossy).toBeGreaterThan(300);
    expect(lossy).toBeLessThan(2700);
  });
});
