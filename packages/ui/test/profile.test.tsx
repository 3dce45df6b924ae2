import { render, screen } from '@testing-library/react';
import { expect, it } from 'vitest';
import type { Step } from '../src/api/types.ts';
import { RunProfile, shares } from '../src/job/profile.tsx';

const component = (id: string, durationMs: number, rowsIn = 1000) => ({
  id,
  connector: id.split(':')[1]!,
  kind: 'transform',
  rowsIn,
  rowsOut: rowsIn,
  durationMs,
});

it('gives each component its share of the flow and flags the slowest', () => {
  const s = shares([
    component('load.0:csv', 200),
    component('load.1:filter', 100),
    component('load.2:postgres', 700),
  ]);
  expect(s.map((c) => Math.round(c.share * 100))).toEqual([20, 10, 70]);
  expect(s.filter((c) => c.slowest).map((c) => c.id)).toEqual(['load.2:postgres']);
  expect(s[0]!.rowsPerSecond).toBe(5000);
  expect(shares([component('x.0:csv', 0)])[0]).toMatchObject({
    share: 0,
    rowsPerSecond: null,
    slowest: false,
  });
});

it('says where the time went, with the step process’s CPU and peak memory', () => {
  const step = {
    stepId: 'load',
    durationMs: 1000,
    report: {
      components: [component('load.0:csv', 380), component('load.1:postgres', 620)],
      resources: { cpuMs: 900, peakRssBytes: 150 * 1048576, peakScope: 'step' },
    },
  } as unknown as Step;
  render(<RunProfile steps={[step]} />);
  expect(screen.getByText(/62% of the flow/)).toBeTruthy();
  expect(screen.getByText(/peak memory 150 MB/)).toBeTruthy();
  expect(screen.getByRole('table', { name: 'profile of load' })).toBeTruthy();
});

it("says when a peak is the process's, not the step's own", () => {
  const step = (id: string, resources: object) =>
    ({ stepId: id, durationMs: 10, report: { components: [], resources } }) as unknown as Step;
  render(
    <RunProfile
      steps={[
        step('a', { cpuMs: 1, peakRssBytes: 60 * 1048576, peakScope: 'process' }),
        step('b', { cpuMs: 1, peakRssBytes: 70 * 1048576 }),
        { ...step('c', { cpuMs: 1, peakRssBytes: 80 * 1048576, peakScope: 'step' }), kind: 'task' } as Step,
      ]}
    />,
  );
  expect(screen.getByText(/peak memory 80 MB \(step process; its commands not counted\)/)).toBeTruthy();
  expect(screen.getByText(/process peak memory 60 MB/)).toBeTruthy();
  expect(screen.getByText(/process peak memory 70 MB/)).toBeTruthy();
});
