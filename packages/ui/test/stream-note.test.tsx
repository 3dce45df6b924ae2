import { render, screen } from '@testing-library/react';
import { expect, it } from 'vitest';
import type { Step } from '../src/api/types.ts';
import { StreamNote } from '../src/job/stream-note.tsx';

const step = (more: Partial<Step>): Step => ({
  id: 's1',
  jobId: 'j1',
  stepId: 'main',
  kind: 'flow',
  status: 'running',
  progress: 0,
  attempt: 1,
  needs: [],
  startedAt: null,
  completedAt: null,
  durationMs: null,
  rowsRead: 0,
  rowsWritten: 0,
  rowsFiltered: 0,
  rowsQuarantined: 0,
  bytes: 0,
  error: null,
  report: null,
  ...more,
});

it("shows a running stream's waiting messages and last checkpoint, and nothing for other steps", () => {
  const at = '2026-12-06T17:30:05.000Z';
  const { unmount } = render(<StreamNote step={step({ streaming: true, lag: 12345, checkpointedAt: at })} />);
  expect(screen.getByRole('status', { name: 'main stream' }).textContent).toBe(
    `stream from a queue · 12,345 waiting · last checkpoint ${new Date(at).toLocaleTimeString()}`,
  );
  unmount();
  const first = render(<StreamNote step={step({ streaming: true, lag: null, checkpointedAt: null })} />);
  expect(screen.getByRole('status', { name: 'main stream' }).textContent).toBe(
    'stream from a queue · no checkpoint yet',
  );
  first.unmount();
  const done = render(<StreamNote step={step({ streaming: true, status: 'cancelled', lag: 3 })} />);
  expect(screen.getByRole('status', { name: 'main stream' }).textContent).toBe('stream from a queue');
  done.unmount();
  const { container } = render(<StreamNote step={step({ streaming: false })} />);
  expect(container.innerHTML).toBe('');
});
