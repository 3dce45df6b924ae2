import type { Static, TSchema } from '@sinclair/typebox';
import {
  asStage,
  type ComponentContext,
  ConfigError,
  FatalError,
  type QuarantineEntry,
  Registry,
  type Row,
  SluiceError,
  SOURCE_LINE,
  type TransformDefinition,
  type TransformFn,
} from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { castTransform } from '../src/transforms/cast.ts';
import { dedupeTransform } from '../src/transforms/dedupe.ts';
import { filterTransform } from '../src/transforms/filter.ts';
import { mapTransform } from '../src/transforms/map.ts';
import { selectTransform } from '../src/transforms/select.ts';
import { validateTransform } from '../src/transforms/validate.ts';
import { createTransform } from './harness.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function make<S extends TSchema>(
  def: TransformDefinition<S>,
  config: Static<S>,
  params: Record<string, unknown> = {},
): Promise<{ run: TransformFn; quarantined: QuarantineEntry[] }> {
  const quarantined: QuarantineEntry[] = [];
  const ctx: ComponentContext<Static<S>> = {
    config,
    signal: new AbortController().signal,
    stepId: 'load',
    componentId: `load.1:${def.name}`,
    baseDir: '/tmp',
    params,
    log: silent,
    quarantine: (e) => quarantined.push(e),
  };
  return { run: asStage(await def.create(ctx)).push, quarantined };
}

/** Rows as a source would emit them: each remembers its line. */
function lines(...rows: Row[]): Row[] {
  return rows.map((r, i) => Object.assign(r, { [SOURCE_LINE]: i + 2 }));
}

/** The data of rows, without the SOURCE_LINE symbol (toEqual compares symbol keys too). */
function data(rows: Row[]): Row[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r)));
}

const all = [
  filterTransform,
  mapTransform,
  selectTransform,
  castTransform,
  validateTransform,
  dedupeTransform,
];

describe('definitions', () => {
  it('are named, versioned, and their examples pass their own schemas', () => {
    const registry = new Registry().register(...all);
    for (const def of all) {
      expect(def.version).toBe('1.0.0');
      expect(registry.get('transform', def.name)).toBe(def);
      expect(registry.check(def, structuredClone(def.example), 'with')).toEqual([]);
    }
  });
  it('reject unknown options with a path', () => {
    const issues = new Registry().check(filterTransform, { where: 'true', when: 'x' }, 'with');
    expect(issues).toEqual([{ path: 'with', message: 'unknown property "when"' }]);
  });
});

describe('filter', () => {
  it('keeps the rows where the expression is true', async () => {
    const { run, quarantined } = await make(filterTransform, {
      where: 'active == true && amount >= 10.0',
      onError: 'quarantine',
    });
    const rows = lines(
      { id: 1, active: true, amount: 12 },
      { id: 2, active: false, amount: 50 },
      { id: 3, active: true, amount: 9.99 },
      { id: 4, active: true, amount: 10 },
    );
    const out = await run(rows);
    expect(out.map((r) => r.id)).toEqual([1, 4]);
    expect(out[0]).toBe(rows[0]);
    expect(quarantined).toEqual([]);
  });
  it('reads params', async () => {
    const { run } = await make(
      filterTransform,
      { where: 'amount > params.min && country in params.countries', onError: 'quarantine' },
      { min: 5, countries: ['DE', 'FR'] },
    );
    const out = await run([
      { amount: 6, country: 'DE' },
      { amount: 4, country: 'DE' },
      { amount: 9, country: 'US' },
    ]);
    expect(out).toEqual([{ amount: 6, country: 'DE' }]);
  });
  it('quarantines rows that fail to evaluate or return a non-bool, with reason and line', async () => {
    const { run, quarantined } = await make(filterTransform, { where: 'amount > 1', onError: 'quarantine' });
    const out = await run(lines({ amount: 5 }, { amount: null }, { other: 1 }));
    expect(out).toHaveLength(1);
    expect(quarantined).toHaveLength(2);
    expect(quarantined[0]).toMatchObject({ line: 3, row: { amount: null } });
    expect(quarantined[0]!.reason).toMatch(/^filter "amount > 1" failed: no such overload/);
    expect(quarantined[1]!.line).toBe(4);

    const q1 = await make(filterTransform, { where: 'amount > 1', onError: 'quarantine' });
    await q1.run([{ amount: 'x' }]);
    expect(q1.quarantined[0]).not.toHaveProperty('line');

    const q2 = await make(filterTransform, { where: 'name', onError: 'quarantine' });
    expect(await q2.run(lines({ name: 'x' }))).toEqual([]);
    expect(q2.quarantined[0]!.reason).toMatch(/returned the string "x"; it must return a bool/);
    expect(q2.quarantined[0]!.line).toBe(2);
  });
  it('fails the step on onError: fail, naming the expression and line', async () => {
    const { run } = await make(filterTransform, { where: 'amount > 1', onError: 'fail' });
    let err: unknown;
    try {
      await run(lines({ amount: 5 }, { amount: 'x' }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FatalError);
    expect((err as Error).message).toMatch(/load\.1:filter: filter "amount > 1" failed: .* at source line 3/);
  });
  it('rejects invalid CEL at create, quoting the expression', async () => {
    await expect(make(filterTransform, { where: 'amount >', onError: 'quarantine' })).rejects.toThrow(
      /load\.1:filter with\.where: invalid CEL expression "amount >"/,
    );
  });
});

describe('map', () => {
  it('sets, renames and drops in that order, without mutating input rows', async () => {
    const { run } = await make(mapTransform, {
      set: { total: 'amount * quantity', country: 'country.upperAscii()', double: 'quantity * 2' },
      rename: { country: 'cc', id: 'order_id' },
      drop: ['note', 'cc_old'],
      onError: 'quarantine',
    });
    const input = lines({ id: 7, country: 'de', amount: 2.5, quantity: 3, note: 'x' });
    const before = structuredClone(input);
    const out = await run(input);
    expect(data(out)).toEqual([{ order_id: 7, cc: 'DE', amount: 2.5, quantity: 3, total: 7.5, double: 6 }]);
    expect(Object.keys(out[0]!)).toEqual(['order_id', 'cc', 'amount', 'quantity', 'total', 'double']);
    expect(out[0]![SOURCE_LINE]).toBe(2);
    expect(out[0]).not.toBe(input[0]);
    expect(data(input)).toEqual(before);
  });
  it('evaluates every expression on the input row', async () => {
    const { run } = await make(mapTransform, {
      set: { a: 'b', b: 'a' },
      rename: {},
      drop: [],
      onError: 'quarantine',
    });
    const out = await run(lines({ a: 1, b: 2 }));
    expect(data(out)).toEqual([{ a: 2, b: 1 }]);
    expect(out[0]![SOURCE_LINE]).toBe(2);
  });
  it('reaches odd field names, replaces text, and turns CEL ints into numbers', async () => {
    const { run } = await make(mapTransform, {
      set: {
        net: 'row["unit price"] * quantity',
        sku: 'sku.replace("-", "")',
        first: 'sku.replace("-", "_", 1)',
        n: '1 + 2',
        big: '9223372036854775807',
      },
      rename: {},
      drop: ['unit price'],
      onError: 'quarantine',
    });
    const [row] = await run([{ 'unit price': 1.5, quantity: 4, sku: 'A-B-C' }]);
    expect(row).toEqual({
      quantity: 4,
      sku: 'ABC',
      net: 6,
      first: 'A_B-C',
      n: 3,
      big: '9223372036854775807',
    });
    expect(typeof row!.n).toBe('number');
  });
  it('lets a rename replace a field of the same name, and swaps', async () => {
    const r1 = await make(mapTransform, { set: {}, rename: { a: 'b' }, drop: [], onError: 'quarantine' });
    expect(await r1.run([{ b: 'old', a: 'new', c: 1 }])).toEqual([{ b: 'new', c: 1 }]);
    expect(await r1.run([{ b: 'kept', c: 1 }])).toEqual([{ b: 'kept', c: 1 }]);
    const r2 = await make(mapTransform, {
      set: {},
      rename: { a: 'b', b: 'a' },
      drop: [],
      onError: 'quarantine',
    });
    expect(await r2.run([{ a: 1, b: 2 }])).toEqual([{ b: 1, a: 2 }]);
    await expect(
      make(mapTransform, { set: {}, rename: { a: 'x', b: 'x' }, drop: [], onError: 'quarantine' }),
    ).rejects.toThrow(/"b" and "a" are both renamed to "x"/);
  });
  it('applies rename and drop to computed fields too', async () => {
    const { run } = await make(mapTransform, {
      set: { b: '1', tmp: 'a * 10', c: 'a + 1.0' },
      rename: { a: 'b', c: 'd' },
      drop: ['tmp'],
      onError: 'quarantine',
    });
    const out = await run(lines({ x: 0, a: 5 }));
    expect(data(out)).toEqual([{ x: 0, b: 5, d: 6 }]);
    expect(Object.keys(out[0]!)).toEqual(['x', 'b', 'd']);
    expect(out[0]![SOURCE_LINE]).toBe(2);
  });
  it('fails the step on onError: fail', async () => {
    const { run } = await make(mapTransform, { set: { y: 'x / 2' }, rename: {}, drop: [], onError: 'fail' });
    expect(() => run(lines({ x: 'a' }))).toThrow(
      /load\.1:map: map set\.y = "x \/ 2" failed: .* at source line 2/,
    );
  });
  it('quarantines rows an expression fails on, naming the field and expression', async () => {
    const { run, quarantined } = await make(mapTransform, {
      set: { total: 'amount * quantity' },
      rename: {},
      drop: [],
      onError: 'quarantine',
    });
    const out = await run(
      lines({ amount: 2, quantity: 2 }, { amount: 'two', quantity: 2 }, { amount: 1, quantity: 1 }),
    );
    expect(out.map((r) => r.total)).toEqual([4, 1]);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]).toMatchObject({ line: 3, row: { amount: 'two' } });
    expect(quarantined[0]!.reason).toMatch(/^map set\.total = "amount \* quantity" failed: no such overload/);
  });
  it('rejects invalid CEL at create, naming the field', async () => {
    await expect(
      make(mapTransform, { set: { x: 'a +* b' }, rename: {}, drop: [], onError: 'quarantine' }),
    ).rejects.toThrow(/with\.set\.x: invalid CEL expression "a \+\* b"/);
  });
});

describe('select', () => {
  it('keeps the listed fields in order, null for missing ones, with renames', async () => {
    const { run } = await make(selectTransform, {
      fields: ['email', 'id', 'missing', 'constructor'],
      rename: { email: 'mail' },
    });
    const out = await run(lines({ id: 1, email: 'a@b.c', secret: 'x' }));
    expect(data(out)).toEqual([{ mail: 'a@b.c', id: 1, missing: null, constructor: null }]);
    expect(Object.keys(out[0]!)).toEqual(['mail', 'id', 'missing', 'constructor']);
    expect(out[0]![SOURCE_LINE]).toBe(2);
  });
  it('rejects renames of unselected fields and clashing output names', async () => {
    await expect(make(selectTransform, { fields: ['a'], rename: { b: 'c' } })).rejects.toThrow(
      /"b" is not in fields/,
    );
    const err = await make(selectTransform, { fields: ['a', 'b'], rename: { a: 'b' } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/would both be output as "b"/);
  });
});

describe('cast', () => {
  const fields = {
    id: 'integer',
    amount: 'number',
    paid: 'boolean',
    day: { type: 'date', format: 'DD/MM/YYYY' },
    at: 'timestamp',
    code: 'string',
  } as const;

  it('converts text fields and leaves the others', async () => {
    const { run, quarantined } = await make(castTransform, { fields, nullValues: [''] });
    const input = lines({
      id: '42',
      amount: '1e3',
      paid: 'Yes',
      day: '29/02/2024',
      at: '2024-03-01T12:00:00+01:00',
      code: 7,
      other: '5',
    });
    const out = await run(input);
    expect(quarantined).toEqual([]);
    expect(data(out)).toEqual([
      {
        id: 42,
        amount: 1000,
        paid: true,
        day: '2024-02-29',
        at: '2024-03-01T11:00:00.000Z',
        code: '7',
        other: '5',
      },
    ]);
    expect(out[0]![SOURCE_LINE]).toBe(2);
    expect(input[0]!.id).toBe('42');
  });
  it('passes rows that already have the right types as they are', async () => {
    const { run } = await make(castTransform, { fields: { id: 'integer', ok: 'boolean' }, nullValues: [''] });
    const row = { id: 3, ok: false };
    expect((await run([row]))[0]).toBe(row);
  });
  it('turns null values into null and enforces nullable: false', async () => {
    const { run, quarantined } = await make(castTransform, {
      fields: { a: 'integer', b: { type: 'number', nullable: false } },
      nullValues: ['', 'NULL'],
    });
    const out = await run(lines({ a: '', b: '1' }, { a: 'NULL', b: '' }, { b: '2' }, { a: '1' }));
    expect(data(out)).toEqual([{ a: null, b: 1 }, { b: 2 }]);
    expect(quarantined.map((q) => q.line)).toEqual([3, 5]);
    expect(quarantined[0]!.reason).toBe(
      'field "b": cannot cast "" to number: null is not allowed here (nullable: false)',
    );
    expect(quarantined[1]!.reason).toBe('field "b" is missing and nullable is false');
  });
  it('quarantines the whole row naming every failing field, value and type', async () => {
    const { run, quarantined } = await make(castTransform, { fields, nullValues: [] });
    const bad = { id: '1.5', amount: '1,5', paid: 'maybe', day: '30/02/2023', at: 'soon', code: 'x' };
    const out = await run(lines({ id: '1' }, bad));
    expect(data(out)).toEqual([{ id: 1 }]);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]!.line).toBe(3);
    expect(quarantined[0]!.row).toBe(bad);
    const reason = quarantined[0]!.reason;
    expect(reason).toContain('field "id": cannot cast "1.5" to integer');
    expect(reason).toContain('field "amount": cannot cast "1,5" to number');
    expect(reason).toContain('field "paid": cannot cast "maybe" to boolean');
    expect(reason).toContain('field "day": cannot cast "30/02/2023" to date');
    expect(reason).toContain('field "at": cannot cast "soon" to timestamp');
  });
  it('rejects an empty string as a number when it is not a null value, and a number a double would change', async () => {
    const { run, quarantined } = await make(castTransform, { fields: { n: 'number' }, nullValues: [] });
    expect(
      await run([{ n: '' }, { n: 'abc' }, { n: '9007199254740993' }, { n: '9007199254740992' }]),
    ).toEqual([{ n: 9007199254740992 }]);
    expect(quarantined).toHaveLength(3);
  });
  it('rejects bad formats with the field path', async () => {
    const err = await make(castTransform, {
      fields: { d: { type: 'date', format: 'DD/MM/YY' }, n: { type: 'integer', format: 'x' } },
      nullValues: [''],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.path)).toEqual([
      'with.fields.d.format',
      'with.fields.n.format',
    ]);
  });
});

describe('validate', () => {
  const schema = {
    type: 'object',
    required: ['id', 'email'],
    properties: { id: { type: 'integer', minimum: 1 }, email: { type: 'string', format: 'email' } },
  };
  it('passes valid rows and quarantines the others with the reasons and line', async () => {
    const { run, quarantined } = await make(validateTransform, { schema });
    const good = { id: 1, email: 'a@example.com' };
    const out = await run(lines(good, { id: 0, email: 'nope' }, { email: 'b@example.com' }));
    expect(out).toEqual([good]);
    expect(out[0]).toBe(good);
    expect(quarantined.map((q) => q.line)).toEqual([3, 4]);
    expect(quarantined[0]!.reason).toMatch(/id: must be >= 1/);
    expect(quarantined[0]!.reason).toMatch(/email: must match format "email"/);
    expect(quarantined[1]!.reason).toMatch(/missing required property "id"/);
  });
  it('rejects an invalid schema at create', async () => {
    const err = await make(validateTransform, { schema: { type: 'integr' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as ConfigError).issues[0]!.path).toBe('with.schema.type');
    expect((err as Error).message).toMatch(
      /load\.1:validate.*with\.schema\.type: must be array or one of: array/s,
    );
  });
});

describe('dedupe', () => {
  it('keeps the first row of each key across batches', async () => {
    const { run, quarantined } = await make(dedupeTransform, { key: ['id'], keep: 'first' });
    const a = { id: 1, v: 'a' };
    expect(await run([a, { id: 2, v: 'b' }, { id: 1, v: 'c' }])).toEqual([a, { id: 2, v: 'b' }]);
    expect(await run([{ id: 2, v: 'd' }, { id: '1', v: 'e' }, { v: 'f' }, { id: null, v: 'g' }])).toEqual([
      { id: '1', v: 'e' },
      { v: 'f' },
    ]);
    expect(quarantined).toEqual([]);
    expect(
      await run([{ id: 1n }, { id: -0 }, { id: 0 }, { id: true }, { id: 'true' }, { id: [1] }, { id: [1] }]),
    ).toEqual([{ id: -0 }, { id: true }, { id: 'true' }, { id: [1] }]);
  });
  it('compares composite keys without separator collisions', async () => {
    const { run } = await make(dedupeTransform, { key: ['a', 'b'], keep: 'first' });
    const out = await run([
      { a: 'x|', b: 'y' },
      { a: 'x', b: '|y' },
      { a: 'x', b: '|y' },
      { a: 1, b: true },
      { a: 1, b: 'true' },
      { a: { k: 1 }, b: null },
      { a: { k: 1 } },
      { a: 2n, b: 'x' },
      { a: 2, b: 'x' },
    ]);
    expect(out.map((r) => r.a)).toEqual(['x|', 'x', 1, 1, { k: 1 }, 2n]);
  });
});

describe('CEL in map: a review found these wrong', () => {
  it('reads a field passed as the first argument of a method that is not a macro', async () => {
    const { run, harness } = await createTransform(mapTransform, {
      set: {
        s: 'name.replace(sep, "_")',
        t: 'name.substring(int(from), int(to))',
        n: 'name.split(sep).size()',
      },
    });
    const out = await run([{ name: 'a-b', sep: '-', from: 0, to: 1 }]);
    expect(harness.quarantined).toEqual([]);
    expect(out[0]).toMatchObject({ s: 'a_b', t: 'a', n: 2 });
  });

  it('turns integers inside map literals and uint() into numbers', async () => {
    const { run, harness } = await createTransform(mapTransform, {
      set: { meta: '{"qty": 1, "tags": [2]}', u: 'uint(n)' },
    });
    const out = await run([{ n: 7 }]);
    expect(harness.quarantined).toEqual([]);
    expect(out[0]).toMatchObject({ meta: { qty: 1, tags: [2] }, u: 7 });
    expect(JSON.stringify(out[0])).toBe('{"n":7,"meta":{"qty":1,"tags":[2]},"u":7}');
  });
});

describe('dedupe keys: values compare by type and value, nested ones too', () => {
  it('keeps rows whose keys differ inside objects and arrays', async () => {
    const a = await createTransform(dedupeTransform, { key: ['k'] });
    expect(await a.run([{ k: { id: 1n } }, { k: { id: 2n } }, { k: { id: 1n } }])).toHaveLength(2);
    const b = await createTransform(dedupeTransform, { key: ['k'] });
    const rows = [
      { k: [null] },
      { k: [Number.NaN] },
      { k: [undefined] },
      { k: { d: new Date(0) } },
      { k: { d: '1970-01-01T00:00:00.000Z' } },
      { k: [null] },
    ];
    // undefined and null in an array are one (both absent values), as at the top level.
    expect(await b.run(rows)).toHaveLength(4);
  });
});
