import { stripVTControlCharacters } from 'node:util';
import type { RunReport } from '@sluice/core';
import { expect, it } from 'vitest';
import { renderSummary } from './summary.ts';

it("shows each component's own counters under its step", () => {
  const component = (id: string, counters?: Record<string, number>) => ({
    id,
    connector: id.split(':')[1]!,
    kind: 'transform' as const,
    rowsIn: 10,
    rowsOut: 10,
    rowsQuarantined: 0,
    rowsFiltered: 0,
    durationMs: 5,
    ...(counters ? { counters } : {}),
  });
  const report = {
    status: 'success',
    durationMs: 10,
    steps: [
      {
        id: 'enrich',
        kind: 'flow',
        status: 'success',
        attempts: 1,
        rowsRead: 10,
        rowsWritten: 10,
        rowsFiltered: 0,
        rowsQuarantined: 0,
        durationMs: 10,
        components: [
          component('enrich.1:lookup', { 'cache.hits': 9000, 'cache.misses': 1000 }),
          component('enrich.2:map'),
        ],
      },
    ],
    integrity: { ok: true, problems: [] },
    quarantine: { rows: 0, path: 'q.ndjson' },
  } as unknown as RunReport;
  const text = stripVTControlCharacters(renderSummary(report));
  expect(text).toContain('enrich.1:lookup: cache.hits 9,000 · cache.misses 1,000');
  expect(text).not.toContain('enrich.2:map:');
});
