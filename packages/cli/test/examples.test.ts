import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOrdersFromCode } from '../../../examples/from-code.ts';

describe('examples/from-code.ts', () => {
  it('builds the example pipeline in code and runs it like the YAML one', async () => {
    const report = await runOrdersFromCode(mkdtempSync(join(tmpdir(), 'sluice-example-')));
    expect(report.status).toBe('success');
    expect(report.steps[0]).toMatchObject({
      id: 'load-orders',
      rowsRead: 12,
      rowsQuarantined: 2,
      rowsWritten: 6,
    });
    expect(report.integrity.ok).toBe(true);
  });
});
