import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvSource } from '../../src/index.ts';
import { readSource } from '../harness.ts';

// A typed column called __proto__ read Object.prototype as its type ("unknown type [object Object]").
describe('csv header names', () => {
  it('are data, never code or prototype lookups, even when typed', async () => {
    const evil = 'a": globalThis.pwned = 1, "b';
    const path = join(mkdtempSync(join(tmpdir(), 'sluice-reg-')), 'h.csv');
    writeFileSync(path, `"${evil.replaceAll('"', '""')}",constructor,__proto__\n1,2,3\n`);
    const { rows } = await readSource(csvSource, {
      path,
      schema: { [evil]: 'integer', constructor: 'integer', ['__proto__']: 'integer' },
    });
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined();
    expect(Object.entries(rows[0]!)).toEqual([
      [evil, 1],
      ['constructor', 2],
      ['__proto__', 3],
    ]);
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
  });
});
