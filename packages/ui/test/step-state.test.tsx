import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { StepStatePanel } from '../src/components/step-state.tsx';

// The pipeline page's "State between runs": each step's cursor, and Reset for admin and operator.

let items: unknown[];
let calls: string[];
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

beforeEach(() => {
  items = [{ stepId: 'load', state: { cursor: 1042 }, jobId: 'j1', updatedAt: '2026-12-05T07:00:00Z' }];
  calls = [];
  vi.stubGlobal('confirm', () => true);
  vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
    const call = `${init?.method ?? 'GET'} ${url.replace('/api/v1', '')}`;
    calls.push(call);
    if (call === 'GET /pipelines/p1/state') return json(200, { items });
    if (call === 'DELETE /pipelines/p1/state?step=load') {
      items = [];
      return json(200, { reset: ['load'] });
    }
    return json(404, { error: { code: 'NOT_FOUND', message: call } });
  });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const show = (role: 'admin' | 'operator' | 'viewer') =>
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <StepStatePanel pipelineId="p1" role={role} />
    </QueryClientProvider>,
  );

it('shows each step’s cursor and resets it for an operator', async () => {
  show('operator');
  expect(await screen.findByText('1042')).toBeTruthy();
  fireEvent.click(screen.getByRole('button', { name: 'Reset load' }));
  await waitFor(() => expect(calls).toContain('DELETE /pipelines/p1/state?step=load'));
  expect(await screen.findByText(/No step keeps state yet/)).toBeTruthy();
});

it('gives a viewer no Reset button', async () => {
  show('viewer');
  expect(await screen.findByText('1042')).toBeTruthy();
  expect(screen.queryByRole('button', { name: 'Reset load' })).toBeNull();
});
