import { describe, expect, it } from 'vitest';
import { castTransform } from '../src/transforms/cast.ts';
import { flattenTransform } from '../src/transforms/flatten.ts';
import { mapTransform } from '../src/transforms/map.ts';
import { renameTransform } from '../src/transforms/rename.ts';
import { selectTransform } from '../src/transforms/select.ts';
import { unnestTransform } from '../src/transforms/unnest.ts';
import { createTransform } from './harness.ts';

// What the ndjson/json sources give for the line {"__proto__":"x","a":1}: an own field.
const row = () => JSON.parse('{"__proto__":"x","a":1}');
const own = (r: object) => JSON.stringify(r);

// A JSON source keeps a `__proto__` key as an own field (as JSON.parse does); the transforms must
// copy it as a field, not assign it (which sets the prototype or is ignored).
describe('__proto__ fields through row-local transforms', () => {
  it('map set (no reshape)', async () => {
    const { run } = await createTransform(mapTransform, { set: { b: 'a + 1.0' } });
    expect(own((await run([row()]))[0]!)).toBe('{"__proto__":"x","a":1,"b":2}');
  });
  it('map rename (reshape)', async () => {
    const { run } = await createTransform(mapTransform, { rename: { a: 'c' } });
    expect(own((await run([row()]))[0]!)).toBe('{"__proto__":"x","c":1}');
  });
  it('select', async () => {
    const { run } = await createTransform(selectTransform, { fields: ['__proto__', 'a'] });
    expect(own((await run([row()]))[0]!)).toBe('{"__proto__":"x","a":1}');
  });
  it('rename of another field', async () => {
    const { run } = await createTransform(renameTransform, { fields: { a: 'b' } });
    expect(own((await run([row()]))[0]!)).toBe('{"__proto__":"x","b":1}');
  });
  it('unnest', async () => {
    const { run } = await createTransform(unnestTransform, { field: 'items' });
    const r = JSON.parse('{"__proto__":"x","items":[1]}');
    expect(own((await run([r]))[0]!)).toBe('{"__proto__":"x","items":1}');
  });
  it('flatten', async () => {
    const { run, harness } = await createTransform(flattenTransform, {});
    const r = JSON.parse('{"__proto__":"x","o":{"k":1}}');
    const out = await run([r]);
    expect(harness.quarantined.map((q) => q.reason)).toEqual([]);
    expect(own(out[0]!)).toBe('{"__proto__":"x","o.k":1}');
  });
  it('cast of a field named __proto__', async () => {
    const { run } = await createTransform(castTransform, JSON.parse('{"fields":{"__proto__":"integer"}}'));
    const out = await run([JSON.parse('{"__proto__":"5"}')]);
    expect(own(out[0]!)).toBe('{"__proto__":5}');
  });
  it('map with an object-valued __proto__ field: its keys become fields of the output', async () => {
    const { run } = await createTransform(mapTransform, { set: { b: 'a' } });
    const out = (await run([JSON.parse('{"__proto__":{"evil":1},"a":1}')]))[0]!;
    expect(Object.keys(out)).toEqual(['__proto__', 'a', 'b']);
    expect((out as Record<string, unknown>).evil).toBeUndefined();
  });
});
