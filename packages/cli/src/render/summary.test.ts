import { type RunReport, runIntegrity, type StepReport } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { renderSummary } from './summary.ts';

describe('renderSummary', () => {
  it("lists a sink's schema changes under the step's components", () => {
    const step: StepReport = {
      id: 'load',
      kind: 'flow',
      status: 'success',
      attempts: 1,
      rowsRead: 4,
      rowsWritten: 3,
      rowsFiltered: 0,
      rowsQuarantined: 1,
      durationMs: 20,
      integrity: { ok: true, problems: [] },
      components: [
        {
          id: 'load.0:ndjson',
          connector: 'ndjson',
          kind: 'source',
          rowsIn: 4,
          rowsOut: 4,
          rowsQuarantined: 0,
          rowsFiltered: 0,
          durationMs: 5,
        },
        {
          id: 'load.1:postgres',
          connector: 'postgres',
          kind: 'sink',
          rowsIn: 4,
          rowsOut: 3,
          rowsQuarantined: 1,
          rowsFiltered: 0,
          durationMs: 15,
          schemaChanges: [
            { change: 'column_added', column: 'extra', type: 'bigint' },
            { change: 'type_widened', column: 'id', from: 'integer', type: 'numeric' },
            { change: 'rows_discarded', column: 'note', count: 1 },
            { change: 'values_dropped', column: 'name', count: 2500 },
          ],
        },
      ],
    };
    const report: RunReport = {
      pipeline: 'p',
      status: 'success',
      startedAt: new Date(0).toISOString(),
      durationMs: 20,
      params: {},
      steps: [step],
      integrity: runIntegrity([step]),
      quarantine: { rows: 1, path: 'q.ndjson' },
    };
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the colours' escapes.
    const text = renderSummary(report).replace(/\u001b\[\d+m/g, '');
    expect(text).toContain('  load.1:postgres: added column "extra" (bigint)');
    expect(text).toContain('  load.1:postgres: widened column "id" from integer to numeric');
    expect(text).toContain('  load.1:postgres: discarded 1 rows for field "note" (schema contract)');
    expect(text).toContain('  load.1:postgres: dropped 2,500 values of field "name" (schema contract)');
  });
});
