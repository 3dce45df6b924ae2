import { describe, expect, it } from 'vitest';
import { dependentParams } from './dependents.ts';
import { eventFor } from './hook-deliveries.ts';

describe('dependentParams', () => {
  const upstream = {
    jobId: 'j1',
    pipeline: 'extract',
    completedAt: '2026-11-05T01:00:00.000Z',
    params: { date: '2026-11-05', limit: 10, other: 'x' },
  };
  it('passes on the parameters the dependent declares, by name', () => {
    const spec = { parameters: { type: 'object', properties: { date: {}, limit: {}, absent: {} } } };
    expect(dependentParams(spec, upstream)).toEqual({ date: '2026-11-05', limit: 10 });
  });
  it('maps triggers.params: one placeholder keeps its type, text is spliced, a missing value is left out', () => {
    const spec = {
      triggers: {
        params: {
          n: '${upstream.params.limit}',
          label: '${upstream.pipeline}@${upstream.params.date} (${upstream.jobId})',
          at: '${upstream.completedAt}',
          gone: '${upstream.params.nope}',
          fixed: 3,
        },
      },
    };
    expect(dependentParams(spec, upstream)).toEqual({
      n: 10,
      label: 'extract@2026-11-05 (j1)',
      at: '2026-11-05T01:00:00.000Z',
      fixed: 3,
    });
  });
});

describe('eventFor', () => {
  it('prefers the specific event, else `end`, else none', () => {
    expect(eventFor('success', ['success', 'end'])).toBe('success');
    expect(eventFor('timeout', ['failure'])).toBe('failure');
    expect(eventFor('failed', ['success'])).toBeUndefined();
    expect(eventFor('cancelled', ['failure', 'end'])).toBe('end');
    expect(eventFor('cancelled', ['failure'])).toBeUndefined();
  });
});
