import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, SHOTS, servedBrowser, signIn } from './harness.ts';

// Issue 17 §2: the job page shows the dataset one step handed the next on the DAG, and previews it.
const ui = servedBrowser(24_000);

describe('datasets on the job page in Chromium against sluice serve', () => {
  it('labels the DAG edge with the dataset, previews its first rows and offers its file', async () => {
    const created = await ui.api<{ id: string }>('POST', '/pipelines', {
      spec: {
        name: 'datasets-e2e',
        steps: [
          {
            id: 'extract',
            flow: [
              { source: 'csv', with: { path: 'data/orders.csv' } },
              { transform: 'cast', with: { fields: { amount: 'number', quantity: 'integer' } } },
              { sink: 'dataset', with: { name: 'orders' } },
            ],
          },
          {
            id: 'load',
            needs: ['extract'],
            flow: [
              { source: 'dataset', with: { name: 'orders' } },
              { sink: 'ndjson', with: { path: 'out/datasets-e2e.ndjson' } },
            ],
          },
        ],
      },
    });
    const run = await ui.api<{ jobId: string }>('POST', `/pipelines/${created.id}/execute`, {});
    await expect
      .poll(async () => (await ui.api<{ status: string }>('GET', `/jobs/${run.jobId}`)).status, {
        timeout: 90_000,
        interval: 500,
      })
      .toBe('success');

    const { page } = ui;
    await signIn(page, ui.server.url, 'admin', ADMIN_PASSWORD);
    await page.goto(`${ui.server.url}/jobs/${run.jobId}`);
    const edge = page.locator('.react-flow__edge-text', { hasText: 'orders · 10 rows' });
    await edge.waitFor({ timeout: 30_000 });

    const balance = page.getByRole('list', { name: 'datasets balance' });
    expect(await balance.textContent()).toBe('dataset orders: 10 written by extract, 10 read by load');
    const table = page.getByRole('table', { name: 'datasets' });
    const row = table.getByRole('row', { name: /orders/ });
    // Of the 12 rows, the csv source sets one aside (a field too many) and the cast another.
    expect(await row.textContent()).toMatch(/^ordersextractload \(10 read\)10/);
    await row.getByRole('button', { name: 'Preview' }).click();
    const preview = page.getByRole('table', { name: 'preview of dataset orders' });
    await preview.waitFor();
    const header = await preview.locator('thead th').allTextContents();
    expect(header.map((h) => h.split(' ')[0])).toEqual([
      'id',
      'customer',
      'country',
      'amount',
      'quantity',
      'active',
      'notes',
    ]);
    expect(await preview.locator('tbody tr').count()).toBe(10);
    expect(await preview.locator('tbody tr').first().textContent()).toMatch(/^1Ana Souzabr19\.92/);
    await page.getByText('First 10 of 10 rows of orders').waitFor();

    const [file] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('button', { name: 'Download orders.parquet' }).click(),
    ]);
    expect(file.suggestedFilename()).toBe('orders.parquet');
    await page.screenshot({ path: join(SHOTS, 'job-datasets.png'), fullPage: true });

    // The pipeline's own DAG names the dataset on its edge before any job ran.
    await page.goto(`${ui.server.url}/pipelines/${created.id}`);
    await page.locator('.react-flow__edge-text', { hasText: 'dataset orders' }).waitFor();
    expect(ui.errors).toEqual([]);
  }, 180_000);
});
