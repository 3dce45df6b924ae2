// Regenerates docs/connectors.md from the connector schemas (a test fails when it is stale).
import { writeFileSync } from 'node:fs';
import { createRegistry } from '@sluice/connectors';
import { renderConnectorDocs } from '../packages/cli/src/connector-docs.ts';

const path = new URL('../docs/connectors.md', import.meta.url);
writeFileSync(path, renderConnectorDocs(createRegistry()));
console.log(`wrote ${path.pathname}`);
