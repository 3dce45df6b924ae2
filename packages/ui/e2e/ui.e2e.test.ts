import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../server/src/security/totp.ts';
import { ADMIN_PASSWORD, adminApi, launch, newPage, type Served, SHOTS, serve, signIn } from './harness.ts';

let server: Served;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let api: Awaited<ReturnType<typeof adminApi>>;

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  server = await serve(18_000 + Math.floor(Math.random() * 2000));
  browser = await launch();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  ({ page, errors } = await newPage(context));
  api = await adminApi(server.url);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('the web UI in Chromium against sluice serve', () => {
  it('signs in and shows the dashboard', async () => {
    await page.goto(server.url);
    await page.waitForURL(/\/login/);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/wrong username or password/);
    await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByText('success rate (24 h)').waitFor();
    // A fresh server: the chart says so (dashboard.e2e.test.ts checks the dashboard and shoots it).
    await page.getByText('No jobs in the last 24 hours.').waitFor();
  });

  it('runs a pipeline with parameters and follows it live to success', async () => {
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Pipelines' }).click();
    await page.getByRole('link', { name: 'orders-example' }).click();
    await page.getByRole('heading', { name: /orders-example/ }).waitFor();
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByLabel(/minAmount/).fill('20');
    await shot('pipeline');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { name: /job [0-9a-f]{8} · success/ }).waitFor({ timeout: 60_000 });
    // Issue 15: the pipeline by name, the short id and the status, in the heading and the tab.
    const jobId = page.url().split('/').pop()!;
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
      `orders-example · job ${jobId.slice(0, 8)} · success`,
    );
    expect(await page.title()).toBe(`orders-example · job ${jobId.slice(0, 8)} · success — Sluice`);
    await page.getByRole('link', { name: 'orders-example' }).waitFor();
    const log = page.getByRole('log', { name: 'job log' });
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toMatch(/load-orders/);
    await expect.poll(() => page.getByLabel('integrity report').textContent()).toMatch(/every flow balances/);
    await page.getByLabel('integrity report').getByText('content verified', { exact: true }).waitFor();
    await page.getByRole('list', { name: 'step timeline' }).waitFor();
    const steps = page.getByRole('table', { name: 'steps' });
    await expect.poll(() => steps.textContent()).toMatch(/count-lines/);
    await page.getByText(/% of the flow/).waitFor();
    await page.getByRole('table', { name: 'profile of load-orders' }).waitFor();
    await page.getByRole('heading', { name: /Quarantined rows of load-orders/ }).waitFor();
    await expect
      .poll(() => page.getByRole('table', { name: /quarantined rows/ }).textContent())
      .toMatch(/\d/);
    await shot('job');
  }, 90_000);

  it('replays the quarantined rows of a job as a new job linked to it', async () => {
    // Still on the job page of the run above: its flow quarantined rows, so the button is there.
    const original = page.url();
    await page.getByRole('button', { name: 'Replay quarantine' }).click();
    await page.waitForURL((u) => /\/jobs\/[0-9a-f-]{36}$/.test(u.pathname) && u.href !== original);
    await page.getByRole('heading', { name: /job [0-9a-f]{8} · success/ }).waitFor({ timeout: 60_000 });
    await page.getByText('Replay of').waitFor();
    // The spec is unchanged: every row fails again and stays quarantined, none is written twice.
    const steps = page.getByRole('table', { name: 'steps' });
    await expect
      .poll(() => steps.textContent(), { timeout: 10_000 })
      .toMatch(/replayed \d+ quarantined rows: 0 written, 0 filtered, \d+ quarantined again/);
    await shot('job-replayed');
    await page.getByRole('link', { name: /^job [0-9a-f]{8}$/ }).click();
    await page.waitForURL(original);
  }, 90_000);

  it("pages through a step's quarantined rows, each with its record's text", async () => {
    // 45 rows from a JSON source that the cast sets aside: more than two pages of 20.
    const rows = Array.from({ length: 45 }, (_, i) => JSON.stringify({ id: i + 1, amount: `bad${i + 1}` }));
    writeFileSync(join(server.filesDir, 'bad-amounts.ndjson'), `${rows.join('\n')}\n`);
    const pipeline = await api<{ id: string }>('POST', '/pipelines', {
      spec: {
        name: 'bad-amounts',
        steps: [
          {
            id: 'load',
            flow: [
              { source: 'ndjson', with: { path: 'bad-amounts.ndjson' } },
              { transform: 'cast', with: { fields: { amount: 'integer' } } },
              { sink: 'ndjson', with: { path: 'out/bad-amounts.ndjson' } },
            ],
          },
        ],
      },
    });
    const { jobId } = await api<{ jobId: string }>('POST', `/pipelines/${pipeline.id}/execute`, {});
    await page.goto(`${server.url}/jobs/${jobId}`);
    await page.getByRole('heading', { name: /^bad-amounts · job [0-9a-f]{8} · success/ }).waitFor({
      timeout: 60_000,
    });
    await page.getByText(/45\s+quarantined rows/).waitFor();
    const table = page.getByRole('table', { name: 'quarantined rows of load' });
    await expect.poll(() => table.textContent()).toContain('"amount":"bad1"');
    await page.getByText('page 1 of 3 (45 in all)').waitFor();
    await page.getByRole('navigation', { name: 'pages' }).getByRole('button', { name: 'Next' }).click();
    await page.getByText('page 2 of 3 (45 in all)').waitFor();
    await expect.poll(() => table.textContent()).toContain('"amount":"bad21"');
    expect(await table.textContent()).not.toContain('"amount":"bad1"}');
    await page.getByRole('button', { name: 'Download load.quarantine.ndjson' }).waitFor();
  }, 90_000);

  it('retries a failed job from the failed step, with an alert raised and resolved on the way', async () => {
    // A webhook receiver for the alert rule created through the Alerts page.
    const received: { status: string }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += String(d);
      });
      req.on('end', () => {
        received.push(JSON.parse(body) as { status: string });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('button', { name: 'New rule' }).click();
    const rule = page.getByRole('form', { name: 'New alert rule' });
    await rule.getByLabel('Name').fill('a job failed');
    await rule.getByLabel('Condition').selectOption('job_failed');
    await rule.getByLabel(/Cooldown/).fill('0');
    await rule.getByRole('button', { name: 'Add channel' }).click();
    await rule.getByRole('group', { name: 'Channel 1' }).getByLabel(/^URL/).fill(hookUrl);
    await rule.getByRole('button', { name: 'Create rule' }).click();
    await page.getByRole('table', { name: 'alert rules' }).getByText('a job failed').waitFor();

    const flaky = await api<{ id: string }>('POST', '/pipelines', {
      spec: {
        name: 'flaky',
        steps: [
          { id: 'prepare', task: 'shell', with: { command: ['true'] } },
          {
            id: 'check',
            needs: ['prepare'],
            task: 'shell',
            retry: { attempts: 1 },
            with: { command: ['test', '-f', 'ready.flag'] },
          },
        ],
      },
    });
    await page.goto(`${server.url}/pipelines/${flaky.id}`);
    await page.getByRole('button', { name: 'Run' }).click();
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\/jobs\//);
    const failedUrl = page.url();
    await page.getByRole('heading', { name: /job [0-9a-f]{8} · failed/ }).waitFor({ timeout: 90_000 });
    await page.getByRole('link', { name: 'Alerts' }).click();
    const history = page.getByRole('table', { name: 'alert history' });
    await expect.poll(() => history.textContent(), { timeout: 15_000 }).toMatch(/firing.*a job failed/);
    await expect.poll(() => received.map((r) => r.status), { timeout: 15_000 }).toContain('firing');
    await shot('alerts');
    await page.goto(failedUrl);
    writeFileSync(join(server.filesDir, 'ready.flag'), '');
    await page.getByRole('button', { name: 'Retry from failed step' }).click();
    // The same job runs again from its failed step: `prepare` is not run a second time.
    await page.getByRole('heading', { name: /job [0-9a-f]{8} · success/ }).waitFor({ timeout: 60_000 });
    expect(page.url()).toBe(failedUrl);
    await expect.poll(() => page.getByRole('row', { name: /^prepare/ }).textContent()).toMatch(/success/);
    await expect
      .poll(() => page.getByRole('row', { name: /^check/ }).textContent())
      .toMatch(/attempt 2|success/);
    await shot('job-retried');
    await expect.poll(() => received.map((r) => r.status), { timeout: 15_000 }).toContain('resolved');
    receiver.close();
  }, 150_000);

  it('creates and pauses a schedule', async () => {
    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByRole('button', { name: 'New schedule' }).click();
    const form = page.getByRole('form', { name: 'New schedule' });
    await form.getByLabel('Pipeline').selectOption({ label: 'orders-example' });
    await form.getByLabel(/Cron/).fill('30 5 * * 1-5');
    await form.getByLabel(/Time zone/).fill('Europe/Lisbon');
    await form.getByRole('button', { name: 'Create schedule' }).click();
    await page.getByText(/Created\. Next runs:/).waitFor();
    const row = page.getByRole('row', { name: /30 5 \* \* 1-5/ });
    await row.getByRole('button', { name: 'Pause' }).click();
    await row.getByRole('button', { name: 'Resume' }).waitFor();
    await expect.poll(() => row.textContent()).toMatch(/paused/);
    // The platform's own maintenance is listed the same way, re-timed in place.
    const retention = page.getByRole('row', { name: /retention \(system\)/ });
    await retention.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit retention (system)' });
    await edit.getByLabel('Cron').fill('15 2 * * *');
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => retention.textContent()).toMatch(/15 2 \* \* \*/);
    expect(await retention.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await shot('schedules');
  });

  it('shows a viewer no control it may not use', async () => {
    await api('POST', '/users', { username: 'vera', password: 'vera-password-1', role: 'viewer' });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const viewer = await newPage(ctx);
    try {
      await signIn(viewer.page, server.url, 'vera', 'vera-password-1');
      const nav = viewer.page.getByRole('navigation', { name: 'main' });
      for (const hidden of ['Users', 'Audit', 'Credentials'])
        expect(await nav.getByRole('link', { name: hidden }).count(), hidden).toBe(0);
      await nav.getByRole('link', { name: 'Pipelines' }).click();
      await viewer.page.getByRole('link', { name: 'orders-example' }).waitFor();
      expect(await viewer.page.getByRole('link', { name: 'New pipeline' }).count()).toBe(0);
      await viewer.page.getByRole('link', { name: 'orders-example' }).click();
      await viewer.page.getByRole('heading', { name: 'Steps' }).waitFor();
      for (const control of ['Run', 'Edit', 'Delete', 'Webhook secret'])
        expect(
          await viewer.page
            .getByRole(control === 'Edit' ? 'link' : 'button', { name: control, exact: true })
            .count(),
          control,
        ).toBe(0);
      await viewer.page.goto(`${server.url}/schedules`);
      await viewer.page.getByRole('row', { name: /30 5/ }).waitFor();
      expect(
        await viewer.page.getByRole('button', { name: /Pause|Resume|Delete|Edit|New schedule/ }).count(),
      ).toBe(0);
      expect(viewer.errors.join('\n')).toBe('');
    } finally {
      await ctx.close();
    }
  });

  it('asks for the second factor when the user has TOTP, and signs in with a fresh code', async () => {
    await api('POST', '/users', { username: 'tina', password: 'tina-password-1', role: 'operator' });
    const tina = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'tina', password: 'tina-password-1' }),
    }).then((r) => r.json() as Promise<{ accessToken: string }>);
    const as = { authorization: `Bearer ${tina.accessToken}`, 'content-type': 'application/json' };
    const { secret } = await fetch(`${server.url}/api/v1/auth/totp/enroll`, {
      method: 'POST',
      headers: as,
      body: '{}',
    }).then((r) => r.json() as Promise<{ secret: string }>);
    await fetch(`${server.url}/api/v1/auth/totp/verify`, {
      method: 'POST',
      headers: as,
      body: JSON.stringify({ code: totpCode(secret) }),
    });
    const ctx = await browser.newContext();
    const second = await newPage(ctx);
    try {
      await second.page.goto(`${server.url}/login`);
      await second.page.getByLabel('Username').fill('tina');
      await second.page.getByLabel('Password').fill('tina-password-1');
      await second.page.getByRole('button', { name: 'Sign in' }).click();
      const code = second.page.getByLabel('Code from your authenticator app');
      await code.waitFor();
      await code.fill(totpCode(secret, Date.now() + 30_000)); // the verify code is spent
      await second.page.getByRole('button', { name: 'Sign in' }).click();
      await second.page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      expect(await second.page.getByText('tina').count()).toBeGreaterThan(0);
    } finally {
      await ctx.close();
    }
  });

  it('is reachable from the keyboard: sign in and open a page without the mouse', async () => {
    const ctx = await browser.newContext();
    const kb = await newPage(ctx);
    try {
      await kb.page.goto(`${server.url}/login`);
      await kb.page.getByLabel('Username').waitFor(); // rendered, so Tab has somewhere to go
      await kb.page.keyboard.press('Tab');
      await kb.page.keyboard.type('admin');
      await kb.page.keyboard.press('Tab');
      await kb.page.keyboard.type(ADMIN_PASSWORD);
      await kb.page.keyboard.press('Enter');
      await kb.page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      // Tab to the Jobs link of the main navigation and follow it.
      for (let i = 0; i < 30; i++) {
        await kb.page.keyboard.press('Tab');
        if ((await kb.page.evaluate<string>('document.activeElement?.textContent ?? ""')) === 'Jobs') break;
      }
      await kb.page.keyboard.press('Enter');
      await kb.page.getByRole('heading', { name: 'Jobs' }).waitFor();
    } finally {
      await ctx.close();
    }
  });

  it('fits a narrow screen', async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const narrow = await newPage(ctx);
    try {
      await signIn(narrow.page, server.url, 'admin', ADMIN_PASSWORD);
      await narrow.page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      // Evaluated in the page: written as a string, since this file is type-checked without the DOM.
      const overflow = await narrow.page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow).toBeLessThanOrEqual(0);
      await narrow.page.locator('.uplot-box canvas').first().waitFor(); // the charts, loaded on demand
      // The navigation is a menu: the header takes one line, not 40% of the first screen.
      const nav = narrow.page.getByRole('navigation', { name: 'main' });
      expect(await nav.isVisible()).toBe(false);
      const header = await narrow.page.locator('.shell header').boundingBox();
      expect(header!.height).toBeLessThan(844 * 0.1);
      await narrow.page.screenshot({ path: join(SHOTS, 'dashboard-narrow.png'), fullPage: true });
      const menu = narrow.page.getByRole('button', { name: 'Menu' });
      await menu.click();
      expect(await menu.getAttribute('aria-expanded')).toBe('true');
      await nav.getByRole('link', { name: 'Jobs' }).click();
      await narrow.page.getByRole('heading', { name: 'Jobs' }).waitFor();
      expect(await nav.isVisible()).toBe(false);
    } finally {
      await ctx.close();
    }
  });

  it("shows each user's state as a badge with the actions in a menu", async () => {
    await api('POST', '/users', { username: 'uma', password: 'uma-password-12', role: 'viewer' });
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Users' }).click();
    const row = page.getByRole('row', { name: /^uma/ });
    await expect.poll(() => row.textContent()).toMatch(/active/);
    await row.getByText('Actions').click();
    await row.getByRole('menuitem', { name: 'Disable' }).click();
    await expect.poll(() => row.textContent()).toMatch(/disabled/);
    await row.getByText('Actions').click();
    await row.getByRole('menuitem', { name: 'Enable' }).click();
    await expect.poll(() => row.textContent()).toMatch(/active/);
    await shot('users');
  });

  it('serves the API reference at /docs from the server alone, with only the API on it', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const docs = await newPage(ctx);
    const elsewhere: string[] = [];
    docs.page.on('request', (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) elsewhere.push(r.url());
    });
    try {
      await docs.page.goto(`${server.url}/docs`);
      await docs.page
        .getByRole('heading', { name: /Sluice API/ })
        .first()
        .waitFor();
      await docs.page.getByText('/api/v1/pipelines', { exact: true }).first().waitFor();
      expect(await docs.page.getByText(/Ask AI|Generate MCP|Deploy/).count()).toBe(0);
      expect(elsewhere).toEqual([]);
      expect(docs.errors.join('\n')).toBe('');
      await docs.page.screenshot({ path: join(SHOTS, 'api-reference.png') });
    } finally {
      await ctx.close();
    }
  });

  it('logged no console error on any page', () => {
    // The browser logs the deliberately wrong sign-in's 401; nothing else may appear.
    const unexpected = errors.filter((e) => !/status of 401/.test(e) || !e.includes('/api/v1/auth/login'));
    expect(unexpected.join('\n')).toBe('');
  });
});
