import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../src/api/types.ts';
import { cronWords } from '../src/pipeline/cron-words.ts';
import { DurationSparkline } from '../src/pipeline/duration-sparkline.tsx';
import { ParametersTable, typeOf } from '../src/pipeline/parameters.tsx';

// The pipeline page's parts that hold logic of their own: cron in words, the parameters table
// and the duration sparkline.

afterEach(cleanup);

describe('cronWords', () => {
  it.each([
    ['30 5 * * 1-5', 'at 05:30, Mon–Fri'],
    ['0 6 * * *', 'at 06:00'],
    ['0 6,18 * * *', 'at 06:00, 18:00'],
    ['*/15 * * * *', 'every 15 minutes'],
    ['5 * * * *', 'at minute 5 of every hour'],
    ['* * * * *', 'every minute'],
    ['0 2 1 * *', 'at 02:00, on day 1 of the month'],
    ['0 0 * 1,7 0', 'at 00:00, in Jan, Jul, Sun'],
    ['15 2 * * 0,6', 'at 02:15, Sun, Sat'],
  ])('%s → %s', (cron, words) => expect(cronWords(cron)).toBe(words));

  it.each(['0 9-17 * * *', '0 6 L * *', '0 6 * * MON', '@daily', '0 6 * * 9', '1 2 3'])(
    'leaves %s to the cron itself',
    (cron) => expect(cronWords(cron)).toBeNull(),
  );
});

describe('ParametersTable', () => {
  it('lists each parameter with its type, whether required, its default and description', () => {
    render(
      <ParametersTable
        schema={{
          type: 'object',
          required: ['region'],
          properties: {
            minAmount: { type: 'number', default: 10, minimum: 0, description: 'Orders below are left out.' },
            region: { enum: ['eu', 'us'] },
            tags: { type: 'array', items: { type: 'string' } },
          },
        }}
      />,
    );
    const rows = screen.getAllByRole('row').map((r) => r.textContent);
    expect(rows).toEqual([
      'NameTypeRequiredDefaultDescription',
      'minAmountnumber≥ 0no10Orders below are left out.',
      'regionone of "eu", "us"yes—',
      'tagsarray of stringno—',
    ]);
  });

  it('says when there are none', () => {
    render(<ParametersTable schema={null} />);
    screen.getByText('This pipeline takes no parameters.');
  });

  it('names alternatives', () =>
    expect(typeOf({ anyOf: [{ type: 'string' }, { type: 'null' }] })).toBe('string or null'));
});

const job = (id: string, status: Job['status'], durationMs: number | null): Job =>
  ({ id: `${id}-0000-4000-8000-000000000000`, pipelineId: 'p1', status, durationMs }) as Job;

describe('DurationSparkline', () => {
  const jobs = [
    job('cccccccc', 'running', null),
    job('bbbbbbbb', 'failed', 500),
    job('aaaaaaaa', 'success', 2000),
  ];

  it('draws one bar per job, oldest first, as tall as its duration and coloured by status', () => {
    const { container } = render(
      <MemoryRouter>
        <DurationSparkline jobs={jobs} />
      </MemoryRouter>,
    );
    const marks = [...container.querySelectorAll('.spark-mark')];
    expect(marks.map((m) => m.getAttribute('data-status'))).toEqual(['success', 'failed', 'running']);
    expect(marks.map((m) => Number(m.getAttribute('height')))).toEqual([48, 12, 3]);
    expect(marks[0]!.getAttribute('fill')).toBe('var(--ok)');
    expect(marks[1]!.getAttribute('fill')).toBe('var(--bad)');
  });

  it('names the job under the pointer and links each bar to its job', () => {
    render(
      <MemoryRouter>
        <DurationSparkline jobs={jobs} />
      </MemoryRouter>,
    );
    const bar = screen.getByRole('link', { name: 'job bbbbbbbb · failed · 500 ms' });
    expect(bar.getAttribute('href')).toBe(`/jobs/${jobs[1]!.id}`);
    fireEvent.mouseEnter(bar);
    expect(screen.getByRole('figure').querySelector('figcaption')!.textContent).toBe(
      'bbbbbbbb · failed · 500 ms',
    );
  });
});
