import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSession, openSession, type Session, SHOTS } from './harness.ts';

// The alert-channel and credential forms (issues 15 and 18), against a real `sluice serve`, a
// webhook receiver and HTTP API this test starts, and the local PostgreSQL and MariaDB a
// credential is tested against.
const PG_URL = process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const HEADER_SECRET = 'e2e-header-secret-77';
const MYSQL_URL = process.env.SLUICE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const API_TOKEN = 'e2e-api-token-31';

let session: Session;
let page: Page;
let errors: string[];
let receiver: Server;
const received: { headers: IncomingHttpHeaders; body: { status: string } }[] = [];
/** The Authorization header of each request to the receiver's /api/ endpoints. */
const apiCalls: (string | undefined)[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    // /api/: an HTTP API for the credential test; /api/private refuses every caller.
    if (req.url?.startsWith('/api/')) {
      apiCalls.push(req.headers.authorization);
      const ok = req.url === '/api/orders' && req.headers.authorization === `Bearer ${API_TOKEN}`;
      res
        .writeHead(ok ? 200 : 403, { 'content-type': 'application/json' })
        .end(ok ? '[]' : '{"error":"forbidden"}');
      return;
    }
    let body = '';
    req.on('data', (d) => {
      body += String(d);
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(body) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  session = await openSession();
  ({ page, errors } = session);
}, 180_000);

afterAll(async () => {
  await closeSession(session);
  receiver?.close();
});

describe('forms', () => {
  it('builds a webhook channel field by field, tests it before saving, then saves the rule', async () => {
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('button', { name: 'New rule' }).click();
    const form = page.getByRole('form', { name: 'New alert rule' });
    await form.getByLabel('Name').fill('orders failed');
    await form.getByRole('button', { name: 'Add channel' }).click();
    const channel = form.getByRole('group', { name: 'Channel 1' });
    await channel.getByLabel('Type').selectOption('webhook');
    // A mistake is shown at its field, and nothing is sent.
    await channel.getByLabel(/^URL/).fill('ftp://nope');
    await channel.getByRole('button', { name: 'Send test' }).click();
    await channel.getByText('must start with http:// or https://').waitFor();
    await form.getByRole('button', { name: 'Create rule' }).click();
    expect(await page.getByRole('table', { name: 'alert rules' }).count()).toBe(0);
    expect(received).toEqual([]);
    await channel.getByLabel(/^URL/).fill(`${base}/hook`);
    await channel.getByRole('button', { name: 'Add header' }).click();
    await channel.getByLabel('header 1 name').fill('authorization');
    const secret = channel.getByLabel('header 1 value', { exact: true });
    await secret.fill(`Bearer ${HEADER_SECRET}`);
    expect(await secret.getAttribute('type')).toBe('password');
    await channel.getByRole('button', { name: 'Show header 1 value' }).click();
    expect(await secret.getAttribute('type')).toBe('text');
    await channel.getByRole('button', { name: 'Hide header 1 value' }).click();
    expect(await secret.getAttribute('type')).toBe('password');

    await channel.getByRole('button', { name: 'Send test' }).click();
    const result = channel.getByRole('status', { name: 'Channel 1 test result' });
    await expect.poll(() => result.textContent(), { timeout: 15_000 }).toBe(`ok — delivered to ${base}`);
    expect(received.at(-1)?.body.status).toBe('test');
    expect(received.at(-1)?.headers.authorization).toBe(`Bearer ${HEADER_SECRET}`);
    await page.screenshot({ path: join(SHOTS, 'alert-rule-form.png'), fullPage: true });

    await form.getByRole('button', { name: 'Create rule' }).click();
    const rules = page.getByRole('table', { name: 'alert rules' });
    await expect.poll(() => rules.textContent()).toMatch(/orders failed.*webhook/);
    // Saved as typed, the header's value masked in the answer and so never back in the page.
    await rules.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit alert rule orders failed' });
    expect(await edit.getByLabel(/^URL/).inputValue()).toBe(`${base}/hook`);
    expect(await edit.getByLabel('header 1 value', { exact: true }).inputValue()).toBe('********');
    // Testing the saved channel uses the stored secret for the masked one.
    await edit.getByRole('button', { name: 'Send test' }).click();
    await expect
      .poll(() => edit.getByRole('status', { name: 'Channel 1 test result' }).textContent(), {
        timeout: 15_000,
      })
      .toMatch(/^ok/);
    expect(received.at(-1)?.headers.authorization).toBe(`Bearer ${HEADER_SECRET}`);
    await page.getByRole('button', { name: 'Cancel' }).click();
  }, 60_000);

  it('creates a postgres credential from the catalogue with the secret masked, then tests it', async () => {
    await page.getByRole('link', { name: 'Credentials' }).click();
    await page.getByRole('button', { name: 'New credential' }).click();
    const form = page.getByRole('form', { name: 'New credential' });
    await form.getByText('Steps use it as credential: <name>').waitFor();
    await form.getByLabel(/^Name/).fill('warehouse');
    await form.getByText('credential: warehouse').waitFor();
    await form.getByLabel('Connector').selectOption('postgres');
    const url = form.locator('input[name="url"]');
    // A required field left empty is reported at the field before anything is sent.
    await form.getByRole('button', { name: 'Save credential' }).click();
    await form.getByText('is required').waitFor();
    await url.fill(PG_URL);
    expect(await url.getAttribute('type')).toBe('password');
    await form.getByRole('button', { name: 'Show url' }).click();
    expect(await url.getAttribute('type')).toBe('text');
    expect(await url.inputValue()).toBe(PG_URL);
    await page.screenshot({ path: join(SHOTS, 'credential-form.png'), fullPage: true });
    await form.getByRole('button', { name: 'Save credential' }).click();

    const row = page.getByRole('row', { name: /warehouse/ });
    await expect.poll(() => row.textContent()).toMatch(/warehouse.*postgres.*url: \*{8}/);
    expect(await page.content()).not.toContain(PG_URL);
    await row.getByRole('button', { name: 'Test' }).click();
    await expect
      .poll(() => row.getByRole('status').textContent(), { timeout: 15_000 })
      .toMatch(/^connected to 127\.0\.0\.1:5432\/\w+ as postgres/);
  }, 60_000);

  it('creates a file credential with S3 keys in their group, and tests it against a path', async () => {
    await page.getByRole('button', { name: 'New credential' }).click();
    const form = page.getByRole('form', { name: 'New credential' });
    await form.getByLabel(/^Name/).fill('landing');
    await form.getByLabel('Connector').selectOption('csv');
    const s3 = form.locator('fieldset', { has: page.locator('legend', { hasText: /^s3$/ }) });
    await s3
      .getByLabel(/accessKeyId/)
      .and(page.locator('input'))
      .fill('AKIAEXAMPLE');
    const secret = s3.getByLabel(/secretAccessKey/).and(page.locator('input'));
    await secret.fill('example-secret-key');
    expect(await secret.getAttribute('type')).toBe('password');
    await form.getByRole('button', { name: 'Save credential' }).click();
    const row = page.getByRole('row', { name: /landing/ });
    await expect.poll(() => row.textContent()).toMatch(/landing.*csv.*s3: \*{8}/);
    expect(await page.content()).not.toContain('example-secret-key');
    // A file credential is tested against a path; Test waits for one.
    const test = row.getByRole('button', { name: 'Test' });
    expect(await test.isDisabled()).toBe(true);
    await row.getByLabel('Path to test landing against').fill('data/orders.csv');
    await test.click();
    await expect
      .poll(() => row.getByRole('status').textContent(), { timeout: 15_000 })
      .toMatch(/^found .*data\/orders\.csv \(\d+(\.\d)? (B|KiB)\)$/);
    await page.screenshot({ path: join(SHOTS, 'credential-file-test.png'), fullPage: true });
  }, 60_000);

  it('creates a MariaDB credential and tests it: connected, with the server named', async () => {
    await page.getByRole('button', { name: 'New credential' }).click();
    const form = page.getByRole('form', { name: 'New credential' });
    await form.getByLabel(/^Name/).fill('shop-db');
    await form.getByLabel('Connector').selectOption('mysql');
    await form.locator('input[name="url"]').fill(MYSQL_URL);
    await form.getByRole('button', { name: 'Save credential' }).click();
    const row = page.getByRole('row', { name: /shop-db/ });
    await expect.poll(() => row.textContent()).toMatch(/shop-db.*mysql.*url: \*{8}/);
    await row.getByRole('button', { name: 'Test' }).click();
    await expect
      .poll(() => row.getByRole('status').textContent(), { timeout: 15_000 })
      .toMatch(/^connected to 127\.0\.0\.1:3306\/test as root \(server .*MariaDB/);
  }, 60_000);

  it('creates an HTTP credential with a bearer token and tests it against an endpoint', async () => {
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    await page.getByRole('button', { name: 'New credential' }).click();
    const form = page.getByRole('form', { name: 'New credential' });
    await form.getByLabel(/^Name/).fill('orders-api');
    await form.getByLabel('Connector').selectOption('http');
    const auth = form.locator('fieldset', { has: page.locator('legend', { hasText: /^auth$/ }) });
    await auth.getByLabel(/^type/).selectOption('bearer');
    const token = auth.locator('input[name="token"]');
    await token.fill(API_TOKEN);
    expect(await token.getAttribute('type')).toBe('password');
    await form.getByRole('button', { name: 'Save credential' }).click();
    const row = page.getByRole('row', { name: /orders-api/ });
    await expect.poll(() => row.textContent()).toMatch(/orders-api.*http.*auth: \*{8}/);
    expect(await page.content()).not.toContain(API_TOKEN);
    // The credential holds the auth only: Test asks for the url to try it on.
    const test = row.getByRole('button', { name: 'Test' });
    expect(await test.isDisabled()).toBe(true);
    await row.getByLabel('URL to test orders-api against').fill(`${base}/api/orders`);
    await test.click();
    await expect
      .poll(() => row.getByRole('status').textContent(), { timeout: 15_000 })
      .toBe(`${base}/api/orders answered HTTP 200 (2 bytes) with bearer auth`);
    expect(apiCalls.at(-1)).toBe(`Bearer ${API_TOKEN}`);
    // A url that refuses the token says so, and the token stays hidden.
    await row.getByLabel('URL to test orders-api against').fill(`${base}/api/private`);
    await test.click();
    await expect.poll(() => row.getByRole('status').textContent(), { timeout: 15_000 }).toMatch(/HTTP 403/);
    expect(await row.getByRole('status').textContent()).not.toContain(API_TOKEN);
  }, 60_000);

  it('logged no console error', () => {
    expect(errors).toEqual([]);
  });
});
