import { Type } from '@sinclair/typebox';
import { expect, it } from 'vitest';
import { defineSink, Registry } from '../../src/index.ts';

// `sink: mysql` said `Did you mean "csv"?`: when no name was within two edits, the single closest
// was suggested, however far. A name is now suggested only when it is close for its length.
const sink = (name: string) =>
  defineSink({
    name,
    version: '1.0.0',
    summary: name,
    config: Type.Object({}),
    open: () => Promise.reject(new Error('not used')),
  });
const registry = new Registry().register(...['csv', 'json', 'ndjson', 'postgres'].map(sink));

it('suggests a connector only when its name is close to the one given', () => {
  expect(registry.suggest('mysql', 'sink')).toEqual([]);
  expect(registry.suggest('pg', 'sink')).toEqual([]);
  expect(registry.suggest('csvv', 'sink')).toEqual(['csv']);
  // Two letters swapped count as one typo.
  expect(registry.suggest('cvs', 'sink')).toEqual(['csv']);
  expect(registry.suggest('s3', 'sink')).toEqual([]);
  expect(registry.suggest('CSV', 'sink')).toEqual(['csv']);
  expect(registry.suggest('jsn', 'sink')).toEqual(['json']);
  expect(registry.suggest('ndjosn', 'sink')).toEqual(['ndjson']);
  expect(registry.suggest('postgress', 'sink')).toEqual(['postgres']);

  expect(() => registry.get('sink', 'mysql')).toThrow(
    /^unknown sink "mysql"\. Known sinks: csv, json, ndjson, postgres\.$/,
  );
  expect(() => registry.get('sink', 'postgress')).toThrow(
    /unknown sink "postgress"\. Did you mean "postgres"\?/,
  );
});
