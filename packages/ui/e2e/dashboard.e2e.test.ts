import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_PASSWORD,
  adminApi,
  closeSession,
  openSession,
  type Served,
  type Session,
  SHOTS,
  signIn,
} from './harness.ts';

let session: Session;
let server: Served;
let page: Page;
let errors: string[];
let api: Awaited<ReturnType<typeof adminApi>>;

beforeAll(async () => {
  session = await openSession({ signedIn: false });
  ({ server, page, errors } = session);
  api = await adminApi(server.url);
}, 180_000);

afterAll(() => closeSession(session));

/** The value uPlot's legend shows beside a series label. */
const legend = (chart: Locator, label: string) =>
  chart.locator('.u-legend .u-series').filter({ hasText: label }).first().locator('.u-value').textContent();

describe('the dashboard in Chromium against sluice serve', () => {
  it('says what to do when there were no jobs', async () => {
    await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
    const panel = page.getByRole('region', { name: 'Jobs per hour, last 24 hours' });
    await panel.getByText('No jobs in the last 24 hours.').waitFor();
    expect(await panel.getByRole('link', { name: 'Pipelines' }).getAttribute('href')).toBe('/pipelines');
    expect(await panel.getByRole('link', { name: 'schedule one' }).getAttribute('href')).toBe('/schedules');
    expect(await panel.locator('canvas').count()).toBe(0);
    await page
      .getByRole('region', { name: 'Failures by pipeline, last 24 hours' })
      .getByText('No failed jobs in the last 24 hours.')
      .waitFor();
    await page.screenshot({ path: join(SHOTS, 'dashboard-empty.png'), fullPage: true });
  });

  it('charts jobs per hour with axes, a legend and values on hover, and names the failing pipeline', async () => {
    const pipelines = await api<{ items: { id: string; name: string }[] }>('GET', '/pipelines?limit=50');
    const orders = pipelines.items.find((p) => p.name === 'orders-example')!;
    const broken = await api<{ id: string }>('POST', '/pipelines', {
      spec: { name: 'nightly-broken', steps: [{ id: 'fail', task: 'shell', with: { command: ['false'] } }] },
    });
    await api('POST', `/pipelines/${orders.id}/execute`, {});
    await api('POST', `/pipelines/${broken.id}/execute`, {});
    await api('POST', `/pipelines/${broken.id}/execute`, {});
    await expect
      .poll(
        async () =>
          (await api<{ items: { status: string }[] }>('GET', '/jobs?limit=10')).items
            .map((j) => j.status)
            .sort(),
        { timeout: 90_000, interval: 500 },
      )
      .toEqual(['failed', 'failed', 'success']);

    // The page and the test must see the same 24 hours: when the clock turns an hour between
    // the two reads of the summary, load again. The jobs' bar is then the last one with jobs.
    type Summary = {
      hourly: { hour: string; success: number; failed: number; total: number; rows: number }[];
    };
    let summary: Summary;
    for (;;) {
      const before = await api<Summary>('GET', '/metrics/summary');
      await page.goto(server.url);
      await page.getByRole('region', { name: 'Jobs per hour, last 24 hours' }).locator('canvas').waitFor();
      summary = await api<Summary>('GET', '/metrics/summary');
      if (before.hourly.at(-1)!.hour === summary.hourly.at(-1)!.hour) break;
    }
    const at = summary.hourly.findLastIndex((h) => h.total > 0);
    const last = summary.hourly[at]!;
    const jobs = page.getByRole('region', { name: 'Jobs per hour, last 24 hours' });
    await jobs.locator('canvas').waitFor();
    // Axes (drawn on the canvas, each with its box) and a legend naming every series.
    expect(await jobs.locator('.u-axis').count()).toBe(2);
    for (const label of ['Hour', 'Succeeded', 'Failed', 'Other'])
      await jobs.locator('.u-legend .u-series').filter({ hasText: label }).first().waitFor();

    // Hovering the bar of the hour that ran the jobs shows its counts.
    const over = (await jobs.locator('.u-over').boundingBox())!;
    await page.mouse.move(over.x + over.width * ((at + 0.5) / 24), over.y + over.height / 2);
    await expect.poll(() => legend(jobs, 'Succeeded')).toBe(String(last.success));
    expect(await legend(jobs, 'Failed')).toBe(String(last.failed));
    expect(await legend(jobs, 'Hour')).toMatch(/^\d\d:\d\d–\d\d:\d\d$/);

    const rows = page.getByRole('region', { name: 'Rows read per second of job run time' });
    await rows.locator('canvas').waitFor();
    expect(await rows.locator('.u-axis').count()).toBe(2);
    const rowsOver = (await rows.locator('.u-over').boundingBox())!;
    await page.mouse.move(rowsOver.x + rowsOver.width * ((at + 0.5) / 24), rowsOver.y + rowsOver.height / 2);
    await expect.poll(() => legend(rows, 'Rows read')).toBe(last.rows.toLocaleString('en-US'));
    expect(await legend(rows, 'Rows/s')).toMatch(/^[\d,.]+$/);

    const failing = page.getByRole('region', { name: 'Failures by pipeline, last 24 hours' });
    const link = failing.getByRole('link', { name: 'nightly-broken' });
    expect(await link.getAttribute('href')).toBe(`/pipelines/${broken.id}`);
    expect(await failing.getByRole('row', { name: /nightly-broken/ }).textContent()).toMatch(/2\s*of 2/);

    // Recent failures name the pipeline, and link the job by its short id.
    const recent = page.getByRole('region', { name: 'Recent failures' });
    expect(await recent.getByRole('link', { name: 'nightly-broken' }).count()).toBe(2);
    expect(await recent.getByRole('link', { name: /^#[0-9a-f]{8}$/ }).count()).toBe(2);

    await page.mouse.move(over.x + over.width * ((at + 0.5) / 24), over.y + over.height / 2);
    await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
