import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, render, renderHook, screen, within } from '@testing-library/react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, expect, it, vi } from 'vitest';
import { useThrottled } from '../src/api/throttled.ts';
import type { Partition } from '../src/api/types.ts';
import { PartitionsTable, partitionSummary, partLabel } from '../src/job/partitions.tsx';
import JobPage from '../src/pages/job.tsx';

const part = (index: number, more: Partial<Partition>): Partition => ({
  id: `p${index}`,
  stepId: 'load',
  index,
  part: { start: { offset: index * 1000, line: index * 10 + 1 }, end: (index + 1) * 1000, size: 4000 },
  status: 'pending',
  progress: 0,
  attempt: 0,
  rowsRead: 0,
  rowsWritten: 0,
  rowsQuarantined: 0,
  workerId: null,
  startedAt: null,
  completedAt: null,
  checkpointedAt: null,
  error: null,
  ...more,
});

const parts = [
  part(0, {
    status: 'success',
    progress: 97,
    attempt: 1,
    rowsRead: 1200,
    rowsWritten: 1195,
    rowsQuarantined: 5,
    workerId: 'w-a',
  }),
  part(1, {
    status: 'running',
    progress: 42.4,
    attempt: 2,
    rowsRead: 500,
    rowsWritten: 480,
    workerId: 'w-b',
  }),
  part(2, {}),
  part(3, {
    status: 'failed',
    progress: 10,
    attempt: 1,
    rowsRead: 30,
    workerId: 'w-a',
    error: { code: 'INTERNAL', message: 'partition 4: connection reset' },
  }),
];

afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

it('counts a step’s parts by status, in words, leaving out the statuses none has', () => {
  const statuses = ['success', 'running', 'success', 'pending', 'success', 'running', 'success', 'success'];
  expect(
    partitionSummary(statuses.map((status, i) => part(i, { status: status as Partition['status'] }))),
  ).toBe('8 partitions: 5 done, 2 running, 1 waiting');
  expect(partitionSummary([part(0, { status: 'cancelled' })])).toBe('1 partition: 1 cancelled');
});

it('says what a part reads: a byte range of a file, its files, or its keys', () => {
  expect(partLabel({ start: { offset: 52113, line: 1201 }, end: 104220, size: 200000 })).toBe(
    'from line 1,201 (bytes 52,113–104,220)',
  );
  expect(partLabel({ files: ['data/a.csv'] })).toBe('data/a.csv');
  expect(partLabel({ files: ['data/a.csv', 'data/b.csv', 'data/c.csv'] })).toBe('data/a.csv and 2 more');
  expect(partLabel({ from: '1', to: '5000' })).toBe('keys 1–5000');
  expect(partLabel({ other: true })).toBe('{"other":true}');
});

it('shows a row per part with its status, progress, rows, attempt, worker and error', () => {
  render(
    <PartitionsTable
      jobId="j1"
      stepId="load"
      partitions={parts}
      artifacts={new Set(['load.partition-1.quarantine.ndjson'])}
    />,
  );
  expect(screen.getByRole('status', { name: 'partitions of load' }).textContent).toBe(
    '4 partitions: 1 done, 1 running, 1 waiting, 1 failed',
  );
  const table = screen.getByRole('table', { name: 'partitions of load' });
  expect(
    within(table)
      .getAllByRole('columnheader')
      .map((h) => h.textContent),
  ).toEqual(['#', 'Reads', 'Status', 'Progress', 'Read', 'Written', 'Quarantined', 'Attempt', 'Worker']);
  const rows = within(table).getAllByRole('row').slice(1);
  const cells = rows.map((r) =>
    within(r)
      .getAllByRole('cell')
      .map((c) => c.textContent),
  );
  expect(cells).toEqual([
    ['1', 'from line 1 (bytes 0–1,000)', 'success', '100%', '1,200', '1,195', '5', '1', 'w-a'],
    ['2', 'from line 11 (bytes 1,000–2,000)', 'running', '42%', '500', '480', '0', '2', 'w-b'],
    ['3', 'from line 21 (bytes 2,000–3,000)', 'pending', '0%', '0', '0', '0', '—', '—'],
    [
      '4',
      'from line 31 (bytes 3,000–4,000)',
      'failedpartition 4: connection reset',
      '10%',
      '30',
      '0',
      '0',
      '1',
      'w-a',
    ],
  ]);
  // A part done shows full, whatever its last progress event said.
  expect(
    screen.getByRole('progressbar', { name: 'partition 1 progress' }).getAttribute('aria-valuenow'),
  ).toBe('100');
  expect(
    screen.getByRole('progressbar', { name: 'partition 2 progress' }).getAttribute('aria-valuenow'),
  ).toBe('42');
  // Only a part whose quarantine the job kept offers it.
  expect(
    within(rows[0]!).getByRole('button', { name: 'Download load.partition-1.quarantine.ndjson' }).textContent,
  ).toBe('5');
  expect(screen.getAllByRole('button')).toHaveLength(1);
});

it('refreshes at most once a window, the calls within it folded into one at its end', () => {
  vi.useFakeTimers();
  const fn = vi.fn();
  const { result, unmount } = renderHook(() => useThrottled(fn, 1000));
  result.current();
  expect(fn).toHaveBeenCalledTimes(1);
  for (let i = 0; i < 5; i++) {
    vi.advanceTimersByTime(100);
    result.current();
  }
  expect(fn).toHaveBeenCalledTimes(1);
  vi.advanceTimersByTime(500);
  expect(fn).toHaveBeenCalledTimes(2);
  vi.advanceTimersByTime(1000);
  expect(fn).toHaveBeenCalledTimes(2);
  result.current();
  expect(fn).toHaveBeenCalledTimes(3);
  // A call due after unmounting never runs.
  result.current();
  unmount();
  vi.advanceTimersByTime(2000);
  expect(fn).toHaveBeenCalledTimes(3);
});

/** The job page against a fake API answering `partitions` for the job's partitions route. */
async function jobPage(partitions: Partition[]) {
  const job = {
    id: 'j1',
    pipelineId: 'p1',
    pipelineName: 'orders',
    pipelineVersion: 1,
    status: 'running',
    triggerType: 'manual',
    triggeredBy: null,
    parameters: {},
    createdAt: '2026-12-06T17:00:00.000Z',
    startedAt: null,
    completedAt: null,
    durationMs: null,
    workerId: null,
    attempt: 1,
    maxAttempts: 1,
    error: null,
    integrity: null,
    traceId: null,
  };
  const artifacts = [
    {
      name: 'load.partition-1.quarantine.ndjson',
      kind: 'quarantine',
      stepId: 'load',
      size: 10,
      sha256: null,
    },
  ];
  const answer = (path: string): unknown => {
    if (path === '/api/v1/jobs/j1') return job;
    if (path === '/api/v1/jobs/j1/partitions') return { items: partitions };
    if (path === '/api/v1/jobs/j1/artifacts') return { items: partitions.length ? artifacts : [] };
    return { items: [], total: 0, limit: 50, offset: 0 };
  };
  vi.stubGlobal('fetch', async (url: string) => new Response(JSON.stringify(answer(url.split('?')[0]!))));
  const router = createMemoryRouter([{ path: '/jobs/:id', element: <JobPage /> }], {
    initialEntries: ['/jobs/j1'],
  });
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  await screen.findByRole('heading', { name: /orders · job j1/ });
  await act(() => qc.refetchQueries());
}

it('shows a panel per partitioned step on the job page, its parts’ quarantines in it alone', async () => {
  await jobPage(parts);
  await screen.findByRole('heading', { name: 'Partitions of load' });
  expect(screen.getByRole('status', { name: 'partitions of load' }).textContent).toBe(
    '4 partitions: 1 done, 1 running, 1 waiting, 1 failed',
  );
  await screen.findByRole('button', { name: 'Download load.partition-1.quarantine.ndjson' });
  // The step's own quarantine table reads `load.quarantine.ndjson`, which a part's file is not.
  expect(screen.queryByRole('heading', { name: /Quarantined rows/ })).toBeNull();
});

it('shows nothing of partitions for a job without them', async () => {
  await jobPage([]);
  expect(screen.queryByRole('heading', { name: /Partitions/ })).toBeNull();
  expect(screen.queryByRole('table', { name: /partitions/ })).toBeNull();
});
