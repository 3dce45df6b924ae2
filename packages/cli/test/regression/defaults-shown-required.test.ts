import { createRegistry } from '@sluice/connectors';
import { expect, it } from 'vitest';
import { renderConnectorDocs } from '../../src/connector-docs.ts';
import { sluice } from '../helpers.ts';

// `sluice connectors` and docs/connectors.md showed every option with a default as required
// (`overwrite`, `header`, `delimiter`…): TypeBox lists them in the schema's `required`.
it('shows an option with a default as optional, in the reference and in `sluice connectors`', async () => {
  const docs = renderConnectorDocs(createRegistry());
  const csvSink = docs.slice(docs.indexOf('### `csv` (sink'));
  expect(csvSink).toMatch(/^\| `path` \| string \| yes \| {2}\|/m);
  expect(csvSink).toMatch(/^\| `overwrite` \| boolean \| {2}\| `true` \|/m);
  expect(docs).not.toMatch(/\| yes \| `/);

  const r = await sluice(['connectors', 'csv', '--json']);
  const both = JSON.parse(r.stdout) as { kind: string; schema: { required?: string[] } }[];
  expect(both.map((d) => [d.kind, d.schema.required])).toEqual([
    ['sink', ['path']],
    ['source', ['path']],
  ]);
  const text = await sluice(['connectors', 'cast']);
  expect(text.stdout).toMatch(/"required": \[\s*"fields"\s*\]/);
  // A nested object's defaulted option is optional too (cast's `nullable` is Optional anyway).
  expect(text.stdout).not.toContain('"nullValues"\n  ]');
});
