import { describe, expect, it } from 'vitest';
import type { Connector, JsonSchema } from '../api/types.ts';
import { type Catalogue, completeYaml, yamlContextAt } from './yaml-complete.ts';

const connectors: Connector[] = [
  { name: 'csv', version: '1.0.0', kind: 'source', summary: 'Reads CSV files.' },
  { name: 'csv', version: '1.0.0', kind: 'sink', summary: 'Writes CSV files.' },
  { name: 'ndjson', version: '1.0.0', kind: 'source', summary: 'Reads NDJSON.' },
  { name: 'filter', version: '1.0.0', kind: 'transform', summary: 'Keeps matching rows.' },
  { name: 'shell', version: '1.0.0', kind: 'task', summary: 'Runs a command.' },
];
const schemas: Record<string, JsonSchema> = {
  'source:csv': {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'File to read.' },
      delimiter: { type: 'string', description: 'Field separator.' },
      schema: { type: 'object' },
    },
  },
  'task:shell': { type: 'object', properties: { command: { type: 'array', description: 'argv.' } } },
};
const catalogue: Catalogue = { connectors, schemaOf: (kind, name) => schemas[`${kind}:${name}`] };

/** The text with `|` removed, and the offset where it stood. */
const at = (marked: string) => ({ text: marked.replace('|', ''), pos: marked.indexOf('|') });

const complete = (marked: string) => {
  const { text, pos } = at(marked);
  return completeYaml(text, pos, catalogue);
};
const labels = (marked: string) => complete(marked)?.options.map((o) => o.label);

describe('completeYaml', () => {
  it('offers the connectors of the kind after source:, transform:, sink: and task:', () => {
    expect(labels('steps:\n  - id: a\n    flow:\n      - source: |')).toEqual(['csv', 'ndjson']);
    expect(labels('flow:\n  - transform: |\n')).toEqual(['filter']);
    expect(labels('  - sink: |')).toEqual(['csv']);
    expect(labels('    task: sh|')).toEqual(['shell']);
    const r = complete('    task: sh|')!;
    expect(r.from).toBe('    task: '.length);
    expect(r.options[0]).toMatchObject({ apply: 'shell', detail: '1.0.0', info: 'Runs a command.' });
  });

  it("offers a component's config keys under with:, with their descriptions, not those given", () => {
    const text = [
      'steps:',
      '  - id: load',
      '    flow:',
      '      - source: csv',
      '        with:',
      '          path: in.csv',
      '          de|',
      '      - sink: csv',
      '        with: { path: out.csv }',
    ].join('\n');
    const r = complete(text)!;
    expect(r.options.map((o) => o.label)).toEqual(['delimiter', 'schema']);
    expect(r.options[0]).toMatchObject({ apply: 'delimiter: ', detail: 'string', info: 'Field separator.' });
    expect(r.from).toBe(at(text).pos - 2);
  });

  it("offers a task step's config keys, whatever order its keys come in", () => {
    const text = '  - id: count\n    with:\n      |\n    task: "shell"  # the task\n';
    expect(labels(text)).toEqual(['command']);
  });

  it('offers nothing elsewhere', () => {
    expect(complete('name: |')).toBeNull();
    expect(complete('steps:\n  - id: a\n    |')).toBeNull();
    expect(complete('  - source: csv\n    with:\n      path: |')).toBeNull();
    // A with: whose connector has no schema (yet) has no keys to offer.
    expect(labels('  - sink: csv\n    with:\n      |')).toEqual([]);
  });
});

describe('yamlContextAt', () => {
  it('names the connector whose with: the cursor is in', () => {
    const { text, pos } = at('      - source: csv\n        with:\n          path: x\n          |');
    expect(yamlContextAt(text, pos)).toEqual({
      at: 'with-key',
      kind: 'source',
      name: 'csv',
      from: pos,
      present: ['path'],
    });
  });
});
