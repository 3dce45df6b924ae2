import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, servedBrowser, signIn } from './harness.ts';

const ui = servedBrowser(26_000);
let id: string;

beforeAll(async () => {
  const created = await ui.api<{ id: string }>('POST', '/pipelines', {
    spec: {
      name: 'daily-backfill',
      parameters: {
        type: 'object',
        properties: {
          date: { type: 'string', default: '2026-01-01' },
          pause: { type: 'number', default: 0 },
        },
      },
      steps: [
        {
          id: 'day',
          task: 'shell',
          with: { command: ['sh', '-c', 'echo ${params.date}; sleep ${params.pause}'] },
        },
      ],
    },
  });
  id = created.id;
  await signIn(ui.page, ui.server.url, 'admin', ADMIN_PASSWORD);
});

describe('the backfill dialog in Chromium against sluice serve', () => {
  it('starts a backfill from the pipeline page, shows its progress to the end, and cancels another', async () => {
    await ui.page.goto(`${ui.server.url}/pipelines/${id}`);
    await ui.page.getByRole('button', { name: 'Backfill' }).click();
    const dialog = ui.page.getByRole('dialog', { name: 'Backfill daily-backfill' });
    await dialog.getByLabel('From').fill('2026-11-01');
    await dialog.getByLabel('To').fill('2026-11-04');
    await dialog.getByLabel('Every').selectOption('day');
    await dialog.getByLabel('Concurrency').fill('2');
    await dialog.getByRole('button', { name: 'Start backfill' }).click();
    await dialog.waitFor({ state: 'detached' });

    const list = ui.page.getByRole('list', { name: 'backfills' });
    const first = list.getByRole('listitem').filter({ hasText: '2026-11-01 → 2026-11-04' });
    await first.getByText('success').waitFor({ timeout: 90_000 });
    expect(await first.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    await first.getByText('3 succeeded, 0 failed').waitFor();
    const jobs = await ui.api<{ items: { triggerType: string; parameters: { date: string } }[] }>(
      'GET',
      `/jobs?pipelineId=${id}&triggerType=backfill`,
    );
    expect(jobs.items.map((j) => j.parameters.date).sort()).toEqual([
      '2026-11-01',
      '2026-11-02',
      '2026-11-03',
    ]);

    // A slow one, to cancel while it runs: a parameter other than the date comes from the form.
    await ui.page.getByRole('button', { name: 'Backfill' }).click();
    await dialog.getByLabel('From').fill('2026-12-01');
    await dialog.getByLabel('To').fill('2026-12-05');
    await dialog.getByLabel('pause').fill('60');
    await dialog.getByRole('button', { name: 'Start backfill' }).click();
    const second = list.getByRole('listitem').filter({ hasText: '2026-12-01 → 2026-12-05' });
    await second.getByText('1 running', { exact: false }).waitFor({ timeout: 60_000 });
    await second.getByRole('button', { name: 'Cancel' }).click();
    await second.getByText('cancelled', { exact: true }).waitFor({ timeout: 30_000 });
    await second
      .getByText(/4 cancelled of 4/)
      .waitFor({ timeout: 30_000 })
      .catch(async (err) => {
        throw new Error(`${err}: the backfill says ${await second.textContent()}`);
      });
  });
});
