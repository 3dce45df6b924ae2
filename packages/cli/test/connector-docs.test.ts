import { readFileSync } from 'node:fs';
import { createRegistry } from '@sluice/connectors';
import { describe, expect, it } from 'vitest';
import { renderConnectorDocs } from '../src/connector-docs.ts';

describe('docs/connectors.md', () => {
  it('matches the connector schemas (run `npm run docs:connectors` after changing a connector)', () => {
    const committed = readFileSync(new URL('../../../docs/connectors.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderConnectorDocs(createRegistry()));
  });

  it('documents every connector', () => {
    const docs = renderConnectorDocs(createRegistry());
    for (const d of createRegistry().list()) expect(docs).toContain(`### \`${d.name}\` (${d.kind}`);
  });

  it("lists an object option's own options under it, as parent.option", () => {
    const docs = renderConnectorDocs(createRegistry());
    const lookup = docs.slice(docs.indexOf('### `lookup`'), docs.indexOf('### `map`'));
    expect(lookup).toMatch(/\| `cache` \| object \|[^\n]*\n\| `cache\.policy` \|/);
    expect(lookup).toContain('| `cache.ttl` | number \\| string |');
  });
});
