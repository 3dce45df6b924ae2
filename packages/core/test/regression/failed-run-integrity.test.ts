import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runPipeline } from '../../src/index.ts';
import { testRegistry } from '../helpers/connectors.ts';

// Issue 14: a run whose flow crashed reported `integrity: { ok: true }` (no flow had a problem
// because none finished), and the CLI printed "integrity ok" under a failed run.
it('does not call a run whose flow did not finish ok, and names the flow', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-integrity-'));
  const report = await runPipeline(
    {
      name: 'crash',
      flow: [
        { source: 'count', with: { rows: 50, failAfter: 20 } },
        { sink: 'json-table', with: { path: join(dir, 'out.json') } },
      ],
    },
    { registry: testRegistry(), stateDir: dir },
  );
  expect(report.status).toBe('failed');
  expect(report.integrity).toEqual({ ok: false, problems: [], unchecked: ['main'] });

  const fine = await runPipeline(
    {
      name: 'fine',
      flow: [
        { source: 'count', with: { rows: 50 } },
        { sink: 'json-table', with: { path: join(dir, 'fine.json') } },
      ],
    },
    { registry: testRegistry(), stateDir: join(dir, 'fine') },
  );
  expect(fine.integrity).toEqual({ ok: true, problems: [], verified: 'count' });
});
