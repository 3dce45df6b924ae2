import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, SHOTS, servedBrowser, signIn } from './harness.ts';

// Issue 21 §2: the job page lists the parts of a partitioned step with their progress.
const ui = servedBrowser(28_000);
const DB = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `e2e_parts_${process.pid}`;
afterAll(async () => {
  const c = new pg.Client({ connectionString: DB });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
});

describe('partitions on the job page in Chromium against sluice serve', () => {
  it('shows each part of the step with its rows, and the summary', async () => {
    const created = await ui.api<{ id: string }>('POST', '/pipelines', {
      spec: {
        name: 'partitions-e2e',
        steps: [
          {
            id: 'load',
            partitions: 3,
            flow: [
              { source: 'csv', with: { path: 'data/orders.csv' } },
              { transform: 'cast', with: { fields: { amount: 'number', quantity: 'integer' } } },
              {
                sink: 'postgres',
                with: {
                  url: DB,
                  dbSchema: schema,
                  checkpointSchema: schema,
                  table: 'orders',
                  createTable: true,
                },
              },
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
    const parts = await ui.api<{ items: { rowsRead: number }[] }>('GET', `/jobs/${run.jobId}/partitions`);
    expect(parts.items).toHaveLength(3);

    const { page } = ui;
    await signIn(page, ui.server.url, 'admin', ADMIN_PASSWORD);
    await page.goto(`${ui.server.url}/jobs/${run.jobId}`);
    const summary = page.getByRole('status', { name: 'partitions of load' });
    await summary.waitFor({ timeout: 30_000 });
    expect(await summary.textContent()).toBe('3 partitions: 3 done');
    const table = page.getByRole('table', { name: 'partitions of load' });
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBe(3);
    // Every row of the file is read by exactly one part: the parts' reads add up to the file's 12.
    const read = await table.locator('tbody tr td:nth-child(5)').allTextContents();
    expect(read.reduce((a, t) => a + Number(t), 0)).toBe(12);
    await page.screenshot({ path: join(SHOTS, 'job-partitions.png'), fullPage: true });
  });
});
