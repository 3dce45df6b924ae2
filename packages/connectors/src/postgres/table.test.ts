import { describe, expect, it } from 'vitest';
import { identList, qualified, quoteIdent } from './ident.ts';
import { createTableSql, inferColumnTypes } from './table.ts';

describe('pg identifiers and table DDL', () => {
  it('quotes identifiers literally', () => {
    expect(quoteIdent('Order "Items"')).toBe('"Order ""Items"""');
    expect(qualified('s', 't')).toBe('"s"."t"');
    expect(identList(['a', 'B'])).toBe('"a", "B"');
    expect(() => quoteIdent('a\u0000')).toThrow(/NUL/);
  });

  it('infers column types from every row of the batch', () => {
    const rows = [
      { i: 1, f: 1, s: 'x', b: true, o: { a: 1 }, d: new Date(0), n: null, m: 1, y: Buffer.from('a') },
      { i: 2, f: 1.5, s: null, b: false, o: [1], d: null, n: null, m: 'x', y: null },
    ];
    expect(inferColumnTypes(rows, ['i', 'f', 's', 'b', 'o', 'd', 'n', 'm', 'y', 'absent'])).toEqual([
      'bigint',
      'double precision',
      'text',
      'boolean',
      'jsonb',
      'timestamptz',
      'text',
      'text',
      'bytea',
      'text',
    ]);
    expect(inferColumnTypes([{ big: 2 ** 64 }], ['big'])).toEqual(['double precision']);
  });

  it('creates a table with an optional primary key', () => {
    expect(createTableSql('"s"."t"', ['id', 'v'], ['bigint', 'text'], ['id'])).toBe(
      'CREATE TABLE IF NOT EXISTS "s"."t" ("id" bigint, "v" text, PRIMARY KEY ("id"))',
    );
  });
});
